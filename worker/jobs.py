"""The scheduled jobs: overdue notices, due-soon reminders, hold expiry (and the end
of hold suspensions).

Overdue and due-soon are set-based (worker/keyset.py): open loans are walked in
keyset batches of BULK_BATCH_SIZE (ix_loans_open_due_at_id, ordered by due_at, id) and
each batch becomes outbox rows with one INSERT ... SELECT ... ON CONFLICT
(dedupe_key) DO NOTHING that records kind, loan, dedupe key and recipient; the
email is rendered by the worker when it sends it. Memory is flat whatever the
library's size, and a second run (or a concurrent one) inserts nothing it has
already inserted, so nothing is sent twice.
"""

import logging
from datetime import datetime, timedelta

from celery import shared_task
from flask import current_app
from sqlalchemy import String, cast, func, literal, select

from api.clock import utcnow
from api.days.service import library_date
from api.extensions import db
from api.models import Loan, Notification, User
from api.models.types import UTCDateTime
from worker import keyset, tracking

log = logging.getLogger(__name__)


# Start, cancel, fail and finish are recorded by worker/tracking.py.
run_job = tracking.run_job


@shared_task(name="worker.jobs.overdue_check", bind=True)
def overdue_check(self) -> dict:
    return run_job(self, "overdue-check", loan_notices, kind="overdue")


@shared_task(name="worker.jobs.due_soon_reminders", bind=True)
def due_soon_reminders(self) -> dict:
    return run_job(self, "due-soon-reminders", loan_notices, kind="due_soon")


@shared_task(name="worker.jobs.expire_holds", bind=True)
def expire_holds(self) -> dict:
    return run_job(self, "expire-holds", _expire_holds)


def _expire_holds(run_id: str) -> dict:
    # Imported late: api.circulation pulls in the whole domain, which the worker
    # needs only for this job.
    from api.circulation.holds import expire_ready_holds
    from api.circulation.suspension import resume_due_holds

    resumed = 0

    def before_batch(done: int) -> None:
        # A cancel stops the job here. No batch is in hand (each hold is re-read under
        # its book's lock), so the progress commits at once and is current.
        tracking.cancel_point(run_id, resumed + done, None)
        tracking.progress(run_id, resumed + done, None)
        db.session.commit()

    # Resumed holds first: they are back in the queue for the copies expiry frees.
    size = current_app.config["JOB_BATCH_SIZE"]
    resumed = resume_due_holds(db.session, batch_size=size, before_batch=before_batch)
    expired = expire_ready_holds(db.session, batch_size=size, before_batch=before_batch)
    tracking.progress(run_id, expired + resumed, expired + resumed)
    db.session.commit()
    return {"expired": expired, "resumed": resumed}


def _window(kind: str, now: datetime):
    """(SQL conditions on open loans, the notice's dedupe key as SQL) for a notice kind."""
    loan = cast(Loan.id, String)
    if kind == "overdue":
        day = library_date(now).isoformat()  # one notice per loan per library day
        return [Loan.due_at < now], literal("overdue:loan:") + loan + literal(f":{day}")
    horizon = now + timedelta(days=current_app.config["DUE_SOON_DAYS"])
    return [Loan.due_at >= now, Loan.due_at < horizon], literal("due_soon:loan:") + loan


# What a job writes per notice; subject and body stay NULL and are rendered from the
# loan when the worker sends it (worker/smtp.py), so no row passes through Python here.
NOTICE_COLUMNS = ("kind", "dedupe_key", "recipient", "user_id", "loan_id", "state", "attempts",
                  "created_at", "next_attempt_at")


def loan_notices(run_id: str, *, kind: str, now: datetime | None = None) -> dict:
    now = now or utcnow()
    window, dedupe_key = _window(kind, now)
    conditions = [Loan.returned_at.is_(None), *window]
    total = db.session.scalar(select(func.count()).select_from(Loan).where(*conditions))
    # End the read before writing: a SQLite transaction that reads and then writes
    # fails at once (SQLITE_BUSY) when another writer committed in between.
    db.session.commit()
    tracking.progress(run_id, 0, total)
    db.session.commit()

    # The recipient is an index lookup per loan: a join let the planner hash the whole
    # users table for every batch.
    email = select(User.email).where(User.id == Loan.user_id).scalar_subquery()
    notices = (select(literal(kind), dedupe_key, email, Loan.user_id, Loan.id,
                      literal("pending"), literal(0), literal(now, UTCDateTime()),
                      literal(now, UTCDateTime()))
               .select_from(Loan))
    scanned = queued = 0
    for batch in keyset.batches(db.session, (Loan.due_at, Loan.id), conditions,
                                current_app.config["BULK_BATCH_SIZE"]):
        tracking.cancel_point(run_id, scanned, max(total, scanned))
        queued += keyset.insert_ignore_from_select(
            db.session, Notification, NOTICE_COLUMNS, notices.where(*conditions, batch.where),
            conflict=["dedupe_key"])
        scanned += batch.size
        # Progress commits with the batch it describes.
        tracking.progress(run_id, scanned, max(total, scanned))
        db.session.commit()
    if queued:
        _kick()
    return {"scanned": scanned, "queued": queued}


def _kick() -> None:
    kick = current_app.extensions.get("outbox_kick")
    try:
        if kick is not None:
            kick()
    except Exception:  # noqa: BLE001 - the outbox sweep sends them within a minute anyway
        log.warning("Could not enqueue outbox delivery after a job", exc_info=True)
