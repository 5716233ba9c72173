"""The scheduled jobs: overdue notices, due-soon reminders, hold expiry.

Overdue and due-soon are set-based: open loans are read in keyset-paginated batches
of JOB_BATCH_SIZE (ix_loans_open_due_at, ordered by due_at, id) joined to their user
and book, rendered, and written with one INSERT ... ON CONFLICT (dedupe_key) DO
NOTHING per batch. Memory stays one batch whatever the library's size, and a second
run (or a concurrent one) inserts nothing it has already inserted, so nothing is
sent twice. The outbox worker does the sending.
"""

import logging
from datetime import datetime, timedelta

from celery import shared_task
from flask import current_app
from sqlalchemy import and_, func, or_, select

from api.clock import utcnow
from api.extensions import db
from api.models import Book, Loan, Notification, User
from api.notify import render
from worker import tracking

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

    expired = expire_ready_holds(db.session, batch_size=current_app.config["JOB_BATCH_SIZE"])
    tracking.progress(run_id, expired, expired)
    db.session.commit()
    return {"expired": expired}


def _window(kind: str, now: datetime):
    """(SQL conditions on open loans, dedupe key for a loan id) for a notice kind."""
    if kind == "overdue":
        day = now.date().isoformat()
        return [Loan.due_at < now], lambda loan_id: f"overdue:loan:{loan_id}:{day}"
    horizon = now + timedelta(days=current_app.config["DUE_SOON_DAYS"])
    return [Loan.due_at >= now, Loan.due_at < horizon], lambda loan_id: f"due_soon:loan:{loan_id}"


def loan_notices(run_id: str, *, kind: str, now: datetime | None = None) -> dict:
    now = now or utcnow()
    window, dedupe_key = _window(kind, now)
    conditions = [Loan.returned_at.is_(None), *window]
    batch_size = current_app.config["JOB_BATCH_SIZE"]
    total = db.session.scalar(select(func.count()).select_from(Loan).where(*conditions))
    # End the read before writing: a SQLite transaction that reads and then writes
    # fails at once (SQLITE_BUSY) when another writer committed in between.
    db.session.commit()
    tracking.progress(run_id, 0, total)
    db.session.commit()

    base = (select(Loan.id, Loan.due_at, Loan.user_id, User.email, User.username, Book.title)
            .join(User, User.id == Loan.user_id).join(Book, Book.id == Loan.book_id)
            .where(*conditions).order_by(Loan.due_at, Loan.id).limit(batch_size))
    scanned = queued = 0
    after = None
    while True:
        stmt = base
        if after is not None:
            stmt = stmt.where(or_(Loan.due_at > after[0], and_(Loan.due_at == after[0], Loan.id > after[1])))
        rows = db.session.execute(stmt).all()
        db.session.commit()
        if not rows:
            break
        values = []
        for row in rows:
            subject, body = render(kind, title=row.title, username=row.username, due_at=row.due_at,
                                   loan_id=row.id)
            values.append({"kind": kind, "dedupe_key": dedupe_key(row.id), "recipient": row.email,
                           "subject": subject[:300], "body": body, "user_id": row.user_id,
                           "loan_id": row.id, "state": "pending", "attempts": 0,
                           "created_at": now, "next_attempt_at": now})
        queued += len(tracking.insert_ignore(Notification, values, ["dedupe_key"],
                                             returning=Notification.id))
        scanned += len(rows)
        after = (rows[-1].due_at, rows[-1].id)
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
