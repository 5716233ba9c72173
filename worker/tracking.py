"""TaskRun rows: the durable status of every job run, admin-triggered or scheduled.

The admin endpoint writes the row (state queued) before enqueueing; beat does not,
so a scheduled run creates its own row here (requested_by NULL). A redelivered
message (acks_late after a crash) finds its row and simply runs again.
"""

from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from api.clock import utcnow
from api.extensions import db
from api.models import TaskRun


def insert_ignore(model, rows: list[dict], conflict_columns: list[str], returning=None):
    """INSERT ... ON CONFLICT DO NOTHING on PostgreSQL or SQLite; the returned column
    of the rows actually inserted (a conflicting row is skipped, never an error)."""
    if not rows:
        return []
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Rows go as executemany parameters, not .values(rows): the statement then has
    # one cached compiled form and SQLAlchemy batches the rows ("insertmanyvalues"),
    # instead of compiling a new statement with rows x columns parameters per batch.
    stmt = insert(model).on_conflict_do_nothing(index_elements=conflict_columns)
    if returning is None:
        db.session.execute(stmt, rows)
        return []
    return db.session.scalars(stmt.returning(returning), rows).all()


def begin(run_id: str, name: str) -> None:
    now = utcnow()
    insert_ignore(TaskRun, [{"id": run_id, "name": name, "state": "queued", "requested_at": now,
                             "progress_current": 0}], ["id"])
    _update(run_id, state="running", started_at=now, finished_at=None, error=None)
    db.session.commit()


def progress(run_id: str, current: int, total: int | None) -> None:
    """Record progress in the caller's transaction (it commits with the batch)."""
    _update(run_id, progress_current=current, progress_total=total)


def succeed(run_id: str, result: Any) -> None:
    _update(run_id, state="succeeded", result=result, finished_at=utcnow())
    db.session.commit()


def fail(run_id: str, error: str) -> None:
    db.session.rollback()
    _update(run_id, state="failed", error=error[:2000], finished_at=utcnow())
    db.session.commit()


def _update(run_id: str, **values) -> None:
    db.session.execute(update(TaskRun).where(TaskRun.id == run_id).values(**values)
                       .execution_options(synchronize_session=False))
