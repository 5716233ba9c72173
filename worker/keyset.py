"""The pattern every bulk job follows: keyset batches, one set-based statement each.

A job walks the rows it concerns in batches (of BULK_BATCH_SIZE for the set-based
jobs) ordered by a unique key (e.g. (due_at, id)). `batches` asks the database only
for each batch's last key and size (one small query over the index); the job then
writes the whole batch with one `INSERT ... SELECT ... WHERE <batch range> ON
CONFLICT DO NOTHING` (`insert_ignore_from_select`), so no row travels through Python. Memory is flat
whatever the table size, and a unique dedupe key makes a re-run (or a concurrent
run) insert nothing twice. Commit after each batch, with its progress; a job's cancel
point (worker/tracking.py) opens each batch, so a cancel never stops a finished run.

    for batch in keyset.batches(db.session, (Loan.due_at, Loan.id), conditions, size):
        tracking.cancel_point(run_id, done, total)
        stmt = select(...).where(*conditions, batch.where)
        inserted += keyset.insert_ignore_from_select(db.session, Notification, columns, stmt,
                                                     conflict=["dedupe_key"])
        db.session.commit()
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, literal, select, true, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


@dataclass
class Batch:
    where: ColumnElement[bool]  # the batch's key range, to AND with the job's conditions
    size: int                   # rows in the range when it was bounded


def _after(key: Sequence, values: Sequence) -> ColumnElement[bool]:
    """(k1, k2) > (v1, v2) as a row-value comparison (PostgreSQL, and SQLite since 3.15):
    over an index on the whole key it is where the range scan starts. Spelled out as
    `k1 > v1 OR (k1 = v1 AND k2 > v2)` PostgreSQL could seek only on k1 and re-read
    every row tied on k1 for each batch. The redundant `k1 >= v1` is for the planner's
    estimate, which a row comparison alone leaves at "most of the table"."""
    return and_(key[0] >= values[0], _row(key) > _row(key, values))


def _at_most(key: Sequence, values: Sequence) -> ColumnElement[bool]:
    return and_(key[0] <= values[0], _row(key) <= _row(key, values))


def _row(key: Sequence, values: Sequence | None = None):
    if values is None:
        return tuple_(*key)
    return tuple_(*(literal(value, column.type) for column, value in zip(key, values, strict=True)))


def batches(session: Session, key: Sequence, conditions: Sequence, size: int, *,
            begin: Callable[[], object] | None = None) -> Iterator[Batch]:
    """Consecutive key ranges of at most `size` rows matching `conditions`.

    Each range is bounded just before it is yielded, so rows added behind the
    cursor are not revisited and a batch's writes never move the next bound.
    The bound is read in its own transaction: on SQLite a transaction that reads
    and then writes fails at once (SQLITE_BUSY) if another writer committed in
    between. The caller commits each batch's writes.

    With `begin` (PostgreSQL) the batch's transaction starts with `begin()` (e.g. a
    transaction-scoped lock the job's writes need), then the bound, which is not
    committed: the caller's batch transaction goes on from both.
    """
    after = None
    while True:
        lower = true() if after is None else _after(key, after)
        window = select(*key).where(*conditions, lower).order_by(*key).limit(size).subquery()
        cols = [window.c[c.key] for c in key]
        if begin is not None:
            begin()
        last = session.execute(select(*cols, func.count().over())
                               .order_by(*(c.desc() for c in cols)).limit(1)).first()
        if begin is None:
            session.commit()
        if last is None:
            return
        *bound, count = last
        yield Batch(and_(lower, _at_most(key, bound)), count)
        if count < size:
            return
        after = bound


def insert_ignore_from_select(session: Session, model, columns: Sequence[str], stmt, *,
                              conflict: Sequence[str]) -> int:
    """INSERT INTO model (columns) <stmt> ON CONFLICT (conflict) DO NOTHING; rows inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Counted from RETURNING: the driver's rowcount for INSERT ... SELECT is not
    # reliable across backends (psycopg answers -1 here).
    key = model.__table__.primary_key.columns[0]
    stmt = (insert(model).from_select(list(columns), stmt)
            .on_conflict_do_nothing(index_elements=list(conflict)).returning(key))
    if dialect == "postgresql":
        # Counted by the database (the write as a data-modifying CTE): one row comes back,
        # not one per row inserted.
        return session.scalar(select(func.count()).select_from(stmt.cte("inserted")))
    return len(session.execute(stmt).all())
