"""Job control, callable without HTTP: start, cancel and retry runs; their messages."""

import logging
import uuid
from datetime import timedelta

from flask import current_app
from kombu.exceptions import KombuError
from redis.exceptions import RedisError
from sqlalchemy import Select, and_, case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from api.audit.service import record
from api.celery_setup import INTERNAL_TASKS, JOB_TASKS
from api.clock import utcnow
from api.errors import Conflict, NotFound, ServiceUnavailable
from api.models import FINISHED_STATES, AuditEntry, Notification, TaskFile, TaskMessage, TaskRun

log = logging.getLogger(__name__)
LOST_AFTER_LIMIT_SECONDS = 60
LOST = ("Its worker was lost: the run had been running for longer than TASK_TIME_LIMIT, past "
        "which no task runs. Cancelled; retry it to run it again.")


def get_run(session: Session, run_id: str) -> TaskRun:
    # Ids are uuids: a NUL, which PostgreSQL refuses in text (a 500), is simply not one.
    run = session.get(TaskRun, run_id) if len(run_id) <= 64 and "\x00" not in run_id else None
    if run is None:
        raise NotFound("No such task.")
    return run


def new_run(session: Session, name: str, params: dict, *, requested_by: int | None,
            retry_of: str | None = None) -> TaskRun:
    """Add a queued run (not committed: an import adds its upload first)."""
    run = TaskRun(id=str(uuid.uuid4()), name=name, state="queued", params=params,
                  requested_by=requested_by, retry_of=retry_of)
    session.add(run)
    return run


def enqueue(session: Session, run: TaskRun) -> TaskRun:
    """Commit the run (and its audit entry), then queue it; broker down: undo the run
    and answer 503."""
    record(session, actor_id=run.requested_by, action="task.retried" if run.retry_of else "task.started",
           object_type="task", object_id=run.id,
           data={"name": run.name, "params": run.params, "retry_of": run.retry_of})
    # Committed before queueing: a fast worker must find the row it reports progress to.
    session.commit()
    try:
        # Jobs read their params from the run; an internal job takes them as arguments.
        internal = run.name in INTERNAL_TASKS
        current_app.extensions["celery"].send_task(
            INTERNAL_TASKS[run.name] if internal else JOB_TASKS[run.name], task_id=run.id,
            kwargs=run.params if internal else None, retry=False, ignore_result=True)
    except (KombuError, RedisError, OSError) as e:
        log.warning("Broker unavailable, task %s not queued: %s", run.name, e)
        session.rollback()
        session.execute(delete(AuditEntry).where(AuditEntry.object_type == "task",
                                                 AuditEntry.object_id == run.id))
        session.execute(delete(TaskRun).where(TaskRun.id == run.id))
        session.commit()
        raise ServiceUnavailable("The task queue (broker) is unavailable; the task was not queued.",
                                 headers={"Retry-After": "5"}) from None
    return run


def cancel_run(session: Session, run_id: str, *, actor_id: int) -> TaskRun:
    """Flag the run; a queued one becomes `cancelled` at once, a running one stops
    before its next batch (the worker reads the flag there). A run `running` for longer
    than TASK_TIME_LIMIT (and a minute) has no worker any more: the hard time limit kills
    a task by then, and Celery acknowledges its message, so nothing would ever finish it.
    It becomes `cancelled` at once too, saying so, and can be retried."""
    run = get_run(session, run_id)
    now = utcnow()
    limit = timedelta(seconds=current_app.config["TASK_TIME_LIMIT"] + LOST_AFTER_LIMIT_SECONDS)
    lost = and_(TaskRun.state == "running", TaskRun.started_at < now - limit)
    ends = or_(TaskRun.state == "queued", lost)
    done = session.execute(
        update(TaskRun).where(TaskRun.id == run_id, TaskRun.state.in_(("queued", "running")))
        .values(cancel_requested_at=func.coalesce(TaskRun.cancel_requested_at, now),
                state=case((ends, "cancelled"), else_=TaskRun.state),
                finished_at=case((ends, now), else_=TaskRun.finished_at),
                error=case((lost, LOST), else_=TaskRun.error))
        .execution_options(synchronize_session=False))
    if done.rowcount == 0:
        session.rollback()
        raise Conflict(f"The run has finished ({run.state}); there is nothing to cancel.",
                       code="task_finished")
    record(session, actor_id=actor_id, action="task.cancel_requested", object_type="task",
           object_id=run_id, data={"name": run.name})
    session.commit()
    session.refresh(run)
    return run


def retry_run(session: Session, run_id: str, *, actor_id: int) -> TaskRun:
    run = get_run(session, run_id)
    if run.state not in ("failed", "cancelled"):
        raise Conflict(f"Only failed or cancelled runs can be retried; this one is {run.state}.",
                       code="task_not_retryable")
    if run.name not in JOB_TASKS and not (run.name in INTERNAL_TASKS and run.params):
        # An internal job runs on its params: a run recorded before it kept them cannot.
        raise Conflict("This job no longer exists, or the run has no parameters to run again with.",
                       code="task_not_retryable")
    retry = new_run(session, run.name, run.params or {}, requested_by=actor_id, retry_of=run.id)
    return enqueue(session, retry)


def messages_stmt(run_id: str, *, level: str | None = None) -> Select:
    stmt = select(TaskMessage).where(TaskMessage.run_id == run_id).order_by(TaskMessage.id)
    if level is not None:
        stmt = stmt.where(TaskMessage.level == level)
    return stmt


def get_output(session: Session, run_id: str) -> TaskFile:
    get_run(session, run_id)
    file = session.scalar(select(TaskFile).where(TaskFile.run_id == run_id, TaskFile.kind == "output",
                                                 TaskFile.complete.is_(True)))
    if file is None:
        raise NotFound("This run has no output (none yet, none made, or removed after the retention period).")
    return file


def outbox_backlog(session: Session) -> dict:
    """Counts of unsent mail by state and the oldest pending row's age (served by the
    (state, next_attempt_at) index; sent rows are not counted)."""
    rows = session.execute(select(Notification.state, func.count(), func.min(Notification.created_at))
                           .where(Notification.state.in_(("pending", "sending", "failed")))
                           .group_by(Notification.state)).all()
    counts = {state: 0 for state in ("pending", "sending", "failed")}
    oldest = None
    for state, count, first in rows:
        counts[state] = count
        if state == "pending":
            oldest = first
    age = (utcnow() - oldest).total_seconds() if oldest else None
    return {**counts, "oldest_pending_at": oldest, "oldest_pending_age_seconds": age}


def is_finished(run: TaskRun) -> bool:
    return run.state in FINISHED_STATES
