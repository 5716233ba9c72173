"""A list's total: exact up to EXACT_UP_TO matches, an estimate above (README "Totals and
deep pages"), so no list counts a million rows per request."""

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Select, Table, func, literal_column, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement

EXACT_UP_TO = 10_000  # SPEC: meta.total is exact up to this many matches
ESTIMATE_SECONDS = 60  # how long a row estimate is reused (_for_a_while)
_MISSING = object()


def count(session: Session, stmt: Select) -> tuple[int, bool]:
    """(total, exact): exact up to EXACT_UP_TO matches, counted with a LIMIT so a
    million matches cost no more than EXACT_UP_TO + 1; above that the planner's
    estimate (PostgreSQL), and for ESTIMATE_SECONDS after such a count the same
    statement and values are not counted again (a walk through a large filtered list
    by cursor or page pays its count once a minute, not per page). SQLite has no
    estimate, and counts above that exactly (an embedded catalog is small enough;
    README "Totals")."""
    stmt = stmt.order_by(None)
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres and (rows := _table_rows(session, stmt)) is not None and rows > 2 * EXACT_UP_TO:
        return rows, False
    stmt = _rows_only(stmt)
    key = _plan_key(stmt) if postgres else None
    if key is not None and (estimate := _recent("plan_rows", key)) is not None:
        return max(estimate, EXACT_UP_TO + 1), False
    bounded = session.scalar(select(func.count()).select_from(stmt.limit(EXACT_UP_TO + 1).subquery()))
    if bounded <= EXACT_UP_TO:
        return bounded, True
    if not postgres:
        return session.scalar(select(func.count()).select_from(stmt.subquery())), True

    def planned() -> int:
        plan = session.execute(Explain(stmt)).scalar()
        return int((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"])

    return max(_for_a_while("plan_rows", key, planned), bounded), False


def _plan_key(stmt: Select) -> tuple | None:
    """The key the planner's estimate of `stmt` is kept under: the statement and its
    values (it moves only with the table's statistics). Times are left out (overdue's
    `now` changes every call; a minute-old estimate of it is as good). None: a
    statement SQLAlchemy cannot cache, never reused."""
    cache_key = stmt._generate_cache_key()
    return cache_key and (cache_key.key, tuple(_hashable(p.effective_value) for p in cache_key.bindparams
                                               if not isinstance(p.effective_value, datetime)))


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value  # an IN list


def _recent(store: str, key, default: Any = None) -> Any:
    """The value _for_a_while keeps under `key` in `store`, if still fresh; else `default`."""
    hit = current_app.extensions.get(store, {}).get(key)
    return hit[1] if hit is not None and hit[0] > time.monotonic() else default


def _for_a_while(store: str, key, compute: Callable[[], Any]) -> Any:
    """compute(), reused for ESTIMATE_SECONDS per process under `key` in `store` (a key
    of None: not reused); at most 1,000 keys a store (distinct searches)."""
    if key is not None and (value := _recent(store, key, _MISSING)) is not _MISSING:
        return value
    value = compute()
    if key is not None:
        known = current_app.extensions.setdefault(store, {})
        if len(known) >= 1_000:
            known.clear()
        known[key] = (time.monotonic() + ESTIMATE_SECONDS, value)
    return value


def _rows_only(stmt: Select) -> Select:
    """`stmt` selecting a constant instead of its columns, for counting: the counted
    subquery carries no columns to compile, plan or drop (a loan's barcode subquery),
    as hand-written `SELECT 1 ... LIMIT 10001` would."""
    if stmt._distinct or stmt._group_by_clauses:
        return stmt  # its rows are made of its columns
    return stmt.with_only_columns(literal_column("1"), maintain_column_froms=True)


def _table_rows(session: Session, stmt: Select) -> int | None:
    """The planner's row count of the table an unfiltered list reads (None if filtered
    or joined), read at most once per ESTIMATE_SECONDS per process: it moves only when
    (auto)vacuum or ANALYZE runs, so reading it on every request bought nothing but a
    round trip. Not get_final_froms(): it compiles the statement, ~2.5 ms a request."""
    if stmt.whereclause is not None or stmt._setup_joins or stmt._from_obj:
        return None
    froms = stmt.columns_clause_froms
    if len(froms) != 1 or not isinstance(froms[0], Table):
        return None
    name = froms[0].name

    def reltuples() -> int | None:
        rows = session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"),
                              {"t": name})
        return int(rows) if rows is not None and rows >= 0 else None

    return _for_a_while("table_rows", name, reltuples)


class Explain(Executable, ClauseElement):
    """`EXPLAIN (FORMAT JSON) <stmt>` on PostgreSQL, with the statement's own binds."""

    inherit_cache = False

    def __init__(self, stmt: Select):
        self.stmt = stmt


@compiles(Explain, "postgresql")
def _explain(element: Explain, compiler, **kw) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.stmt, **kw)
