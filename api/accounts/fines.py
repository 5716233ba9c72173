"""Overdue fines: the formula, the library-day count, and the one SQL write that both
the fines-accrual job (worker/fines.py) and a return (settle_fine) use.

A loan's fine is `fine_amount(...)` of its chargeable days: the open library days d
with due day < d <= today (or the return day), library dates in LIBRARY_TIMEZONE,
counted by api.days.service.open_days_between. It lives in the loan's single
`overdue` line, brought up to date in place (never one line per day).
"""

from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from api.clock import utcnow
from api.days.service import open_days_between
from api.models import AccountLine, Loan
from api.models.types import UTCDateTime
from api.rules.resolve import effective_rule


def fine_amount(*, fine_per_day: int, grace_days: int, max_fine: int, chargeable_days: int) -> int:
    """0 while the chargeable days are within the grace (days <= grace_days); after
    that every chargeable day is charged, the grace days included, capped at max_fine."""
    if chargeable_days <= grace_days or fine_per_day <= 0 or max_fine <= 0:
        return 0
    return min(max_fine, fine_per_day * chargeable_days)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def library_date(when: datetime) -> date:
    """The library's calendar date (LIBRARY_TIMEZONE) of an aware UTC datetime."""
    return when.astimezone(_zone(current_app.config.get("LIBRARY_TIMEZONE", "UTC"))).date()


class DayCounter:
    """open_days_between per distinct (due day, end day), remembered: a batch of loans
    ordered by due date asks the calendar a handful of times, not once per loan."""

    def __init__(self, session: Session):
        self.session = session
        self.known: dict[tuple[date, date], int] = {}

    def __call__(self, due_at: datetime, end: datetime | date) -> int:
        key = (library_date(due_at), end if not isinstance(end, datetime) else library_date(end))
        if key not in self.known:
            self.known[key] = open_days_between(self.session, *key)
        return self.known[key]


def _loan_rule_keys(loan) -> tuple[str, str]:
    """(patron category, item type) whose effective rule prices this loan's fine.

    SEAM for the lead: until users.category and items.item_type exist every loan is
    (DEFAULT_PATRON_CATEGORY, 'book'). Replace with the loan's member's category and
    its item's type; worker/fines.py selects the columns (`row` has what it selects)."""
    return current_app.config.get("DEFAULT_PATRON_CATEGORY", "adult"), "book"


class RuleCache:
    """effective_rule once per distinct (category, item type) per batch."""

    def __init__(self, session: Session):
        self.session = session
        self.rules: dict = {}

    def __call__(self, loan):
        key = _loan_rule_keys(loan)
        if key not in self.rules:
            self.rules[key] = effective_rule(self.session, patron_category=key[0], item_type=key[1])
        return self.rules[key]


def loan_fine(rule, days: int) -> int:
    return fine_amount(fine_per_day=rule.fine_per_day, grace_days=rule.fine_grace_days,
                       max_fine=rule.max_fine, chargeable_days=days)


# PostgreSQL: one constant statement with three array parameters. A VALUES list of
# 1,000 rows (executemany) is new text of 4,000 placeholders per batch for the server
# to parse and plan, which cost 4-10x this in bench/fines.py.
_PG_UPSERT = text("""
INSERT INTO account_lines (user_id, kind, amount, loan_id, created_at)
SELECT t.user_id, 'overdue', t.amount, t.loan_id, :now
FROM unnest(CAST(:user_ids AS integer[]), CAST(:amounts AS integer[]), CAST(:loan_ids AS integer[]))
     WITH ORDINALITY AS t(user_id, amount, loan_id, n)
ORDER BY t.n
ON CONFLICT (loan_id) WHERE kind = 'overdue'
DO UPDATE SET amount = excluded.amount WHERE account_lines.amount <> excluded.amount
RETURNING id""").bindparams(bindparam("now", type_=UTCDateTime))
_PG_FREE = text("UPDATE account_lines SET amount = 0 WHERE kind = 'overdue' "
                "AND loan_id = ANY(CAST(:loan_ids AS integer[])) AND amount <> 0")


def write_overdue_lines(session: Session, lines: list[dict]) -> int:
    """Bring the `overdue` lines of these loans ({loan_id, user_id, amount}, in lock
    order) to their amounts; returns how many lines changed. Set-based: one INSERT ...
    ON CONFLICT (loan_id) WHERE kind = 'overdue' DO UPDATE for the charged loans, one
    UPDATE for the loans whose fine is now 0. A line already at its amount is not
    written, so a second run changes nothing. A 0 fine creates no line: a library that
    charges no fines (FINE_PER_DAY=0) gets no rows at all."""
    charged = [line for line in lines if line["amount"] > 0]
    free = [line["loan_id"] for line in lines if line["amount"] <= 0]
    if session.get_bind().dialect.name == "postgresql":
        return _write_postgresql(session, charged, free)
    changed = 0
    if charged:
        stmt = sqlite.insert(AccountLine)
        stmt = stmt.on_conflict_do_update(
            index_elements=[AccountLine.loan_id], index_where=text("kind = 'overdue'"),
            set_={"amount": stmt.excluded.amount}, where=AccountLine.amount != stmt.excluded.amount)
        rows = [{"user_id": line["user_id"], "loan_id": line["loan_id"], "kind": "overdue",
                 "amount": line["amount"]} for line in charged]
        # RETURNING yields only the rows inserted or actually updated.
        changed += len(session.scalars(stmt.returning(AccountLine.id), rows).all())
    if free:
        result = session.execute(
            update(AccountLine).where(AccountLine.kind == "overdue", AccountLine.loan_id.in_(free),
                                      AccountLine.amount != 0)
            .values(amount=0).execution_options(synchronize_session=False))
        changed += result.rowcount
    return changed


def _write_postgresql(session: Session, charged: list[dict], free: list[int]) -> int:
    changed = 0
    if charged:
        changed += len(session.execute(_PG_UPSERT, {
            "user_ids": [line["user_id"] for line in charged],
            "amounts": [line["amount"] for line in charged],
            "loan_ids": [line["loan_id"] for line in charged], "now": utcnow()}).all())
    if free:
        changed += session.execute(_PG_FREE, {"loan_ids": free}).rowcount
    return changed


def settle_fine(session: Session, loan: Loan, *, returned_at: datetime) -> int:
    """Bring the loan's `overdue` line to its final amount, counting library days up to
    the return day (a backdated return counts to its own day). Call it in the return's
    transaction, after setting returned_at; it does not commit. Returns the fine.

    It locks the loan row first (a no-op if the return's UPDATE already did): the
    accrual job holds FOR SHARE on the loans of its batch while it writes their lines,
    so taking the loan before the line keeps one lock order and no deadlock."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Loan).where(Loan.id == loan.id).values(id=Loan.id)
                        .execution_options(synchronize_session=False))
    else:
        session.execute(select(Loan.id).where(Loan.id == loan.id).with_for_update(key_share=True))
    days = DayCounter(session)(loan.due_at, returned_at)
    amount = loan_fine(RuleCache(session)(loan), days)
    write_overdue_lines(session, [{"loan_id": loan.id, "user_id": loan.user_id, "amount": amount}])
    return amount
