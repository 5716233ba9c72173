"""TaskRun rows: the durable status of every job run, admin-triggered or scheduled.

The admin endpoint writes the row (state queued) before enqueueing; beat does not,
so a scheduled run creates its own row here (requested_by NULL). A redelivered
message (acks_late after a crash) finds its row and runs again while it is
`running`; a finished or cancelled run is not run again.

Cancelling is a flag in the row (`cancel_requested_at`), not a Celery revoke: a
queued run that was cancelled never starts (`begin` refuses it, on whichever worker
and after any restart), and a running one stops at its next batch: a job calls
`cancel_point` when it knows another batch is there to do, before doing it, and that
raises `Cancelled` once the batches before it are committed. A cancel that comes
while the last batch is in hand therefore finds no batch left to skip: the run
finishes as `succeeded`, with its result, rather than `cancelled` with all its work
done. `progress` and `JobRun.checkpoint` only record.
"""

import logging
import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from api.admin.files import JobFailed
from api.clock import utcnow
from api.extensions import db
from api.models import MESSAGE_LEVELS, TaskMessage, TaskRun

log = logging.getLogger(__name__)
__all__ = ["Cancelled", "JobFailed", "JobRun", "begin", "cancel_point", "insert_ignore", "progress",
           "run_job"]


class Cancelled(Exception):
    """Raised before a batch, the ones before it committed: an admin cancelled the run."""


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


def begin(run_id: str, name: str) -> bool:
    """Mark the run running; False (and the run `cancelled`) if it must not run."""
    now = utcnow()
    insert_ignore(TaskRun, [{"id": run_id, "name": name, "state": "queued", "requested_at": now,
                             "progress_current": 0}], ["id"])
    started = db.session.execute(
        update(TaskRun).where(TaskRun.id == run_id, TaskRun.state.in_(("queued", "running")),
                              TaskRun.cancel_requested_at.is_(None))
        .values(state="running", started_at=now, finished_at=None, error=None)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not started:
        # Cancelled while queued (already `cancelled`), or flagged and then its worker
        # died: either way it ends here, without running.
        _update(run_id, state="cancelled", finished_at=now, only_unfinished=True)
        log.info("Run %s (%s) was cancelled or has finished; not running it", run_id, name)
    db.session.commit()
    return started


def progress(run_id: str, current: int, total: int | None) -> None:
    """Record progress in the caller's transaction (it commits with the batch)."""
    _update(run_id, progress_current=current, progress_total=total)


def cancel_point(run_id: str, done: int, total: int | None) -> None:
    """Before a batch that is there to do: if the run was cancelled, commit what came
    before (its progress `done` of `total`) and raise `Cancelled`; else go on in the
    same transaction.

    On SQLite the progress is written and the flag read back in one UPDATE ...
    RETURNING: the write takes the database's write lock before the batch reads (a
    read first, then a write, fails with SQLITE_BUSY if another writer committed in
    between). PostgreSQL only reads the flag: a write would hold the run's row until
    the batch commits, and an admin's cancel would wait on it (a batch stuck on a lock
    would hang the request). A cancel that lands during a batch is seen before the
    next one; during the last, there is none and the run succeeds."""
    if db.session.get_bind().dialect.name == "sqlite":
        flag = db.session.scalar(
            update(TaskRun).where(TaskRun.id == run_id)
            .values(progress_current=done, progress_total=total)
            .returning(TaskRun.cancel_requested_at).execution_options(synchronize_session=False))
    else:
        flag = db.session.scalar(select(TaskRun.cancel_requested_at).where(TaskRun.id == run_id))
        if flag is not None:
            progress(run_id, done, total)
    if flag is not None:
        db.session.commit()
        raise Cancelled(run_id)


def succeed(run_id: str, result: Any) -> None:
    _update(run_id, state="succeeded", result=result, finished_at=utcnow())
    db.session.commit()


def fail(run_id: str, error: str) -> None:
    db.session.rollback()
    _update(run_id, state="failed", error=error[:2000], finished_at=utcnow())
    db.session.commit()


def cancelled(run_id: str) -> None:
    db.session.rollback()
    _update(run_id, state="cancelled", finished_at=utcnow())
    db.session.commit()


def run_job(task, name: str, job, **kwargs):
    """Run `job(run_id, **kwargs)` recording its TaskRun; ids come from Celery."""
    run_id = task.request.id or str(uuid.uuid4())
    if not begin(run_id, name):
        return None
    try:
        result = job(run_id, **kwargs)
    except Cancelled:
        log.info("Job %s (%s) cancelled at a batch boundary", name, run_id)
        cancelled(run_id)
        return None
    except JobFailed as e:
        # The job's own verdict (a bad file): no traceback, nothing for Celery to log.
        log.warning("Job %s (%s) failed: %s", name, run_id, e)
        fail(run_id, str(e))
        return None
    except Exception as e:
        log.exception("Job %s (%s) failed", name, run_id)
        fail(run_id, f"{type(e).__name__}: {e}")
        raise
    succeed(run_id, result)
    return result


class JobRun:
    """A running job's handle: its params, its messages, its batch boundaries."""

    def __init__(self, run_id: str):
        self.id = run_id
        params, self._left = db.session.execute(
            select(TaskRun.params, TaskRun.result).where(TaskRun.id == run_id)).one()
        self.params: dict = params or {}
        self.counts = dict.fromkeys(MESSAGE_LEVELS, 0)
        self._messages: list[dict] = []

    def start(self, *, resume: bool = False) -> dict:
        """Where this attempt begins. A message redelivered after its worker died finds
        the running result that attempt committed with its last batch: with `resume`,
        that result is returned (its messages kept, counted on from theirs) for the job
        to go on after it; otherwise the attempt's messages, which would be listed twice,
        are cleared and {} returned, the job starting again from its first item."""
        if resume and self._left:
            self.counts.update(self._left.get("messages") or {})
            return self._left
        db.session.execute(delete(TaskMessage).where(TaskMessage.run_id == self.id))
        db.session.commit()
        return {}

    def message(self, ref, level: str, code: str, detail: str) -> None:
        """A per-item message; written with the current batch."""
        # A detail may quote the file, and PostgreSQL stores no NUL in text.
        self._messages.append({"run_id": self.id, "ref": str(ref)[:64], "level": level,
                               "code": code[:64], "detail": detail.replace("\x00", "\\x00")[:2000]})
        self.counts[level] += 1

    def with_counts(self, result: dict) -> dict:
        return {**result, "messages": dict(self.counts)}

    def checkpoint(self, current: int, total: int | None, result: dict) -> None:
        """End a batch: its messages, progress and running result commit together
        with the batch's own writes."""
        if self._messages:
            db.session.execute(TaskMessage.__table__.insert(), self._messages)
            self._messages = []
        _update(self.id, result=self.with_counts(result), progress_current=current,
                progress_total=total)
        db.session.commit()


def run_with_handle(task, name: str, job):
    """Like run_job, for jobs written as `job(run: JobRun) -> dict`."""
    return run_job(task, name, lambda run_id: job(JobRun(run_id)))


def _update(run_id: str, *, only_unfinished: bool = False, **values) -> None:
    stmt = update(TaskRun).where(TaskRun.id == run_id)
    if only_unfinished:
        stmt = stmt.where(TaskRun.state.in_(("queued", "running")))
    db.session.execute(stmt.values(**values).execution_options(synchronize_session=False))
