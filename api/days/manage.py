"""Changing the library calendar (admin). Each change commits with its audit entry."""

import logging
import uuid
from datetime import date

from flask import current_app
from kombu.exceptions import KombuError
from redis.exceptions import RedisError
from sqlalchemy import delete, exists, false, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.audit.service import record
from api.celery_setup import INTERNAL_TASKS, RESCHEDULE_JOB
from api.days.service import closed_weekdays, day_bounds
from api.errors import Conflict, NotFound, ServiceUnavailable
from api.models import AuditEntry, ClosedDate, ClosedWeekday, Loan, TaskRun

log = logging.getLogger(__name__)


def calendar_view(session: Session) -> dict:
    dates = session.scalars(select(ClosedDate).order_by(ClosedDate.date)).all()
    return {"timezone": current_app.config["LIBRARY_TIMEZONE"],
            "closed_weekdays": sorted(closed_weekdays(session)), "closed_dates": dates}


def set_closed_weekdays(session: Session, weekdays: list[int], *, actor_id: int) -> dict:
    """Replace the weekly closed days. Closing all seven is refused: due dates and pickup
    deadlines must always find an open day."""
    wanted = set(weekdays)
    if len(wanted) == 7:
        raise Conflict("The library must be open on at least one weekday.", code="calendar_all_closed")
    lock_weekdays(session)
    current = closed_weekdays(session)
    if wanted != current:
        session.execute(delete(ClosedWeekday).where(ClosedWeekday.weekday.not_in(wanted)))
        missing = [{"weekday": d} for d in sorted(wanted - current)]
        if missing:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            # Two admins saving the same day at once: the second insert does nothing.
            session.execute(insert(ClosedWeekday).on_conflict_do_nothing(index_elements=["weekday"]),
                            missing)
        record(session, actor_id=actor_id, action="calendar.weekdays_changed", object_type="calendar",
               object_id="weekdays", data={"from": sorted(current), "to": sorted(wanted)})
    session.commit()
    return calendar_view(session)


# The PostgreSQL advisory lock (transaction-scoped) that takes weekday changes one at
# a time: each reads the set it replaces, and two admins saving [1,2,3] and [4,5,6,7]
# at once would otherwise each keep the other's rows and close all seven days.
WEEKDAYS_LOCK = 0x7765656B  # "week"


def lock_weekdays(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WEEKDAYS_LOCK})
    else:
        # SQLite: a write that changes nothing takes the database's single write lock.
        session.execute(delete(ClosedWeekday).where(false()))


def get_closed_date(session: Session, day: date) -> ClosedDate:
    closed = session.get(ClosedDate, day)
    if closed is None:
        raise NotFound("The library is not closed on that date.")
    return closed


def close_date(session: Session, day: date, reason: str | None, *,
               actor_id: int) -> tuple[ClosedDate, TaskRun | None]:
    """Close a library date. If open loans are due that day, a `calendar-reschedule` run
    is recorded and queued to move them to the next open day; if the broker cannot take
    it, nothing of the change is kept (503)."""
    if session.get(ClosedDate, day) is not None:
        raise Conflict(f"The library is already closed on {day}.", code="duplicate")
    closed = ClosedDate(date=day, reason=reason)
    session.add(closed)
    entry = record(session, actor_id=actor_id, action="calendar.date_closed", object_type="calendar",
                   object_id=day.isoformat(), data={"reason": reason})
    start, end = day_bounds(day)
    due_that_day = session.scalar(select(exists().where(
        Loan.returned_at.is_(None), Loan.due_at >= start, Loan.due_at < end)))
    run = None
    if due_that_day:
        # The day is the run's params too: a failed or cancelled run can be retried.
        run = TaskRun(id=str(uuid.uuid4()), name=RESCHEDULE_JOB, state="queued", requested_by=actor_id,
                      params={"day": day.isoformat()})
        session.add(run)
    _commit_or_duplicate(session, day)
    if run is not None:
        _enqueue(session, run, day, entry.id)
    return closed, run


def _commit_or_duplicate(session: Session, day: date) -> None:
    try:
        session.commit()
    except IntegrityError:
        # Two admins closing the same date at once: the primary key keeps one.
        session.rollback()
        raise Conflict(f"The library is already closed on {day}.", code="duplicate") from None


def _enqueue(session: Session, run: TaskRun, day: date, entry_id: int) -> None:
    # Committed before queueing: a fast worker must find the row it reports progress to.
    try:
        current_app.extensions["celery"].send_task(INTERNAL_TASKS[RESCHEDULE_JOB], task_id=run.id,
                                                   kwargs={"day": day.isoformat()}, retry=False,
                                                   ignore_result=True)
    except (KombuError, RedisError, OSError) as e:
        log.warning("Broker unavailable, %s for %s not queued: %s", RESCHEDULE_JOB, day, e)
        session.rollback()
        session.execute(delete(TaskRun).where(TaskRun.id == run.id))
        session.execute(delete(AuditEntry).where(AuditEntry.id == entry_id))
        session.execute(delete(ClosedDate).where(ClosedDate.date == day))
        session.commit()
        raise ServiceUnavailable("The task queue (broker) is unavailable; the date was not closed.",
                                 headers={"Retry-After": "5"}) from None


def reopen_date(session: Session, day: date, *, actor_id: int) -> None:
    """Open a closed date again. Loans already moved off it keep their new due dates."""
    closed = get_closed_date(session, day)
    record(session, actor_id=actor_id, action="calendar.date_opened", object_type="calendar",
           object_id=day.isoformat(), data={"reason": closed.reason})
    session.delete(closed)
    session.commit()
