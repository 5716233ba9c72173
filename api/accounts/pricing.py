"""Overdue fines priced by the database, in the statement that writes them.

`priced_loans(...)` is a SELECT of (loan_id, user_id, amount) for the loans matching
some conditions, counted up to a library day `end`: fines-accrual (worker/fines.py)
uses it per keyset batch with end = today, a return (settle_fine) for one loan with
end = the return day. No loan passes through Python. Each piece is the SQL twin of
one Python definition, and tests/accounts/test_pricing.py compares them:

- the library due day and the open days after it up to `end` (closed weekdays and
  closed dates read from the calendar tables): api.days.service.open_days_between;
- the fine values of the effective rule of the member's category and the item's
  type, first of (C,T), (C,*), (*,T), (*,*) that sets each: api.rules.resolve;
- the amount: api.accounts.fines.fine_amount.

Day arithmetic differs by dialect, so it is written as three small SQL constructs
compiled per dialect; SQLite, which has no time zones, gets `lib_local_date`.
"""

import sqlite3
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    event,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from api.models import ClosedDate, ClosedWeekday, Item, Loan, User
from api.models.rule import ANY, CirculationRule

# The type of a loan without an item (loans recorded before items existed).
DEFAULT_ITEM_TYPE = "book"
FINE_VALUES = ("fine_per_day", "fine_grace_days", "max_fine")


class library_day(FunctionElement):  # noqa: N801 - reads as the SQL function it is
    """The date in zone `zone` of an aware timestamp."""
    type = Date()
    inherit_cache = True


class days_from(FunctionElement):  # noqa: N801
    """`end` - `start` in days (dates)."""
    type = Integer()
    inherit_cache = True


class iso_weekday(FunctionElement):  # noqa: N801
    """ISO weekday of a date, 1 = Monday .. 7 = Sunday."""
    type = Integer()
    inherit_cache = True


@compiles(library_day, "postgresql")
def _library_day_pg(element, compiler, **kw):
    when, zone = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(({when} AT TIME ZONE {zone}) AS DATE)"


@compiles(library_day, "sqlite")
def _library_day_sqlite(element, compiler, **kw):
    when, zone = (compiler.process(c, **kw) for c in element.clauses)
    return f"lib_local_date({when}, {zone})"


@compiles(days_from, "postgresql")
def _days_from_pg(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"({end} - {start})"


@compiles(days_from, "sqlite")
def _days_from_sqlite(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday({end}) - julianday({start}) AS INTEGER)"


@compiles(iso_weekday, "postgresql")
def _iso_weekday_pg(element, compiler, **kw):
    return f"CAST(EXTRACT(ISODOW FROM {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(iso_weekday, "sqlite")
def _iso_weekday_sqlite(element, compiler, **kw):
    # strftime('%w') is 0 = Sunday .. 6 = Saturday.
    return f"((CAST(strftime('%w', {compiler.process(element.clauses, **kw)}) AS INTEGER) + 6) % 7 + 1)"


@lru_cache(maxsize=4096)
def _local_date(when: str | None, zone: str) -> str | None:
    if when is None:
        return None
    return datetime.fromisoformat(when).replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).date().isoformat()


@event.listens_for(Engine, "connect")
def _sqlite_functions(dbapi_conn, record):
    if isinstance(dbapi_conn, sqlite3.Connection):
        dbapi_conn.create_function("lib_local_date", 2, _local_date, deterministic=True)


def open_days_sql(start, end):
    """Open library days d with start < d <= end, as SQL (the twin of open_days_between):
    the days between, less each closed weekday's occurrences in the range, less the
    closed dates in it that are not on a closed weekday (those are counted already)."""
    span = days_from(start, end)
    n = case((span > 0, span), else_=0)
    # The first day after `start` with weekday w is k = (w - weekday(start) + 6) % 7 + 1
    # days later (1..7), so w occurs (n - k + 7) // 7 times in the range.
    weekdays, dates = ClosedWeekday.__table__, ClosedDate.__table__
    first = (weekdays.c.weekday - iso_weekday(start) + 6) % 7 + 1
    weekly = (select(func.coalesce(func.sum((n - first + 7) // 7), 0))
              .select_from(weekdays).scalar_subquery())
    dated = (select(func.count()).select_from(dates)
             .where(dates.c.date > start, dates.c.date <= end,
                    iso_weekday(dates.c.date).not_in(select(weekdays.c.weekday)))
             .scalar_subquery())
    return n - weekly - dated


def fine_sql(*, fine_per_day, grace_days, max_fine, chargeable_days):
    """The twin of fine_amount: 0 within the grace, else fine_per_day a day, capped."""
    total = cast(fine_per_day, BigInteger) * chargeable_days
    return case((chargeable_days <= grace_days, 0), (fine_per_day <= 0, 0), (max_fine <= 0, 0),
                (total > max_fine, max_fine), else_=total)


# Core tables, not ORM entities: the statement is built once per batch, and ORM
# attribute access and aliased() cost more than the database's work on a batch.
LOANS, USERS, ITEMS, RULES = Loan.__table__, User.__table__, Item.__table__, CirculationRule.__table__
# One alias per candidate rule row, most specific first: (C,T), (C,*), (*,T), (*,*).
RULE_ROWS = [RULES.alias(f"rule_{name}") for name in ("ct", "c", "t", "any")]


def _rule_values(category, item_type) -> dict:
    """([(rule row, join condition)], {value name: SQL}) for the effective rule of
    (category, item_type): one outer join per candidate row (the rules table is small),
    each value the first that sets it."""
    pairs = [(category, item_type), (category, literal(ANY)), (literal(ANY), item_type),
             (literal(ANY), literal(ANY))]
    joins = [(row, and_(row.c.patron_category == cat, row.c.item_type == typ))
             for row, (cat, typ) in zip(RULE_ROWS, pairs, strict=True)]
    values = {name: func.coalesce(*(row.c[name] for row in RULE_ROWS)) for name in FINE_VALUES}
    return joins, values


def _rule_key(column, value):
    """The batch's rule key `value` (SQL, per loan) where some rule row names a specific
    value in `column` and sets a fine value, else `*`, which resolves to the same rule.
    The EXISTS is uncorrelated (evaluated once per statement, with the statement's
    rules), so a batch under `*` rules alone looks up no user or item."""
    used = (select(literal(1)).select_from(RULES)
            .where(column != ANY, or_(*(RULES.c[name].is_not(None) for name in FINE_VALUES))).exists())
    return case((used, value), else_=literal(ANY))


def priced_loans(conditions, *, end: date, limit: int | None = None):
    """SELECT loan_id, user_id, amount for the loans matching `conditions` (at most
    `limit`, first by (due_at, id)), their chargeable days counted to library day `end`.
    The `*`/`*` rule always exists (api.rules.resolve).

    The loans are read once (the `batch` CTE); the day count is computed once per
    distinct due day (`counts`, grouped, so the planner cannot inline it per loan)."""
    zone = bindparam("library_zone", current_app.config.get("LIBRARY_TIMEZONE", "UTC"))
    end_day = bindparam("end_day", end, type_=Date())
    loans = LOANS.c
    # The member's category and the item's type are index lookups per loan (a join
    # let the planner hash the whole users table for every batch), and only when a
    # rule depends on them.
    category = select(USERS.c.category).where(USERS.c.id == loans.user_id).scalar_subquery()
    item_type = func.coalesce(select(ITEMS.c.item_type).where(ITEMS.c.id == loans.item_id)
                              .scalar_subquery(), DEFAULT_ITEM_TYPE)
    batch = (select(loans.id, loans.user_id, loans.due_at, library_day(loans.due_at, zone).label("day"),
                    _rule_key(RULES.c.patron_category, category).label("category"),
                    _rule_key(RULES.c.item_type, item_type).label("item_type"))
             .where(*conditions).order_by(loans.due_at, loans.id))
    if limit is not None:
        # Also what makes the planner walk the (due_at, id) index for a keyset batch.
        batch = batch.limit(limit)
    batch = batch.cte("batch")
    counts = (select(batch.c.day, open_days_sql(batch.c.day, end_day).label("days"))
              .group_by(batch.c.day).cte("counts"))
    # The rule values once per distinct (category, item type) of the batch, like the day
    # counts: joined per loan, a misestimated batch (one row for thousands) made the
    # planner scan the whole rules table once per loan and candidate row.
    key = (batch.c.category, batch.c.item_type)
    keys = select(*key).group_by(*key).cte("keys")
    joins, rule = _rule_values(keys.c.category, keys.c.item_type)
    resolved = keys
    for row, on in joins:
        resolved = resolved.outerjoin(row, on)
    # Grouped (one row per key already; max() of one value) so that the planner keeps it
    # a subquery instead of pulling the rule joins up into the per-loan join.
    values = (func.max(value).label(name) for name, value in rule.items())
    rules = (select(keys.c.category, keys.c.item_type, *values)
             .select_from(resolved).group_by(keys.c.category, keys.c.item_type).cte("rules"))
    amount = fine_sql(fine_per_day=rules.c.fine_per_day, grace_days=rules.c.fine_grace_days,
                      max_fine=rules.c.max_fine, chargeable_days=counts.c.days)
    source = (batch.join(counts, counts.c.day == batch.c.day)
              .join(rules, and_(rules.c.category == key[0], rules.c.item_type == key[1])))
    # Unordered: no row lock is taken, so no lock order to keep (a sort per batch saved).
    return select(batch.c.id.label("loan_id"), batch.c.user_id, amount.label("amount")).select_from(source)
