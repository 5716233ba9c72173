"""The calendar job: closing a date moves the open loans due on it to the next open day.

`calendar-reschedule` (started by POST /admin/calendar/closed-dates) reads the open
loans due on the closed library date in keyset batches ordered by (user_id, id) over
ix_loans_open_due_at_id's one-day range, moves each batch with one executemany UPDATE
(guarded by the old due date, so a loan returned or re-dated meanwhile is left alone)
and writes one email per member per closed date (dedupe key), in the batch's own
transaction. A batch always ends at a member boundary, so each member's email lists all
their moved loans. Moved loans leave the range: a second run (or a redelivered one
after a crash) finds nothing left to move and sends nothing.
"""

import logging
from collections import defaultdict
from datetime import date

from celery import shared_task
from flask import current_app
from sqlalchemy import and_, bindparam, func, or_, select, update

from api.accounts.fines import reprice_moved
from api.celery_setup import RESCHEDULE_JOB
from api.clock import utcnow
from api.days.service import MAX_SEARCH_DAYS, closures, day_bounds, same_time_on
from api.extensions import db
from api.models import Book, Loan, Notification, User
from api.notify import render
from worker import tracking
from worker.jobs import run_job

log = logging.getLogger(__name__)


@shared_task(name="worker.days.reschedule_closed_date", bind=True)
def reschedule_closed_date(self, day: str) -> dict:
    result = run_job(self, RESCHEDULE_JOB, reschedule_due_on, day=date.fromisoformat(day))
    if result and result["notified"]:  # None: the run was cancelled, failed or already done
        kick = current_app.extensions.get("outbox_kick")
        try:
            if kick is not None:
                kick()
        except Exception:  # noqa: BLE001 - the outbox sweep sends them within a minute anyway
            log.warning("Could not enqueue outbox delivery after %s", RESCHEDULE_JOB, exc_info=True)
    return result


def reschedule_due_on(run_id: str, *, day: date) -> dict:
    start, end = day_bounds(day)
    calendar = closures(db.session, day, date.fromordinal(day.toordinal() + MAX_SEARCH_DAYS))
    target = None if calendar.is_open(day) else calendar.next_open_date(day)
    summary = {"date": day.isoformat(), "moved_to": target and target.isoformat(), "moved": 0, "notified": 0,
               "repriced": 0}
    if target is None:
        # Reopened before the job ran (or no open day in reach): nothing to move.
        db.session.commit()
        return summary
    reason = calendar.reason(day)
    conditions = [Loan.returned_at.is_(None), Loan.due_at >= start, Loan.due_at < end]
    total = db.session.scalar(select(func.count()).select_from(Loan).where(*conditions))
    # End the read before writing: a SQLite transaction that reads and then writes fails
    # at once (SQLITE_BUSY) when another writer committed in between.
    db.session.commit()

    columns = (Loan.id, Loan.user_id, Loan.due_at, User.email, User.username, Book.title)
    base = (select(*columns).join(User, User.id == Loan.user_id).join(Book, Book.id == Loan.book_id)
            .where(*conditions).order_by(Loan.user_id, Loan.id)
            # Rows stay put until the batch commits: a return waits rather than races.
            .with_for_update(of=Loan, key_share=True))
    move = (update(Loan.__table__)
            .where(Loan.__table__.c.id == bindparam("loan_id"), Loan.__table__.c.due_at == bindparam("old"),
                   Loan.__table__.c.returned_at.is_(None))
            .values(due_at=bindparam("new")))
    batch_size = current_app.config["JOB_BATCH_SIZE"]
    after, sqlite = None, db.session.get_bind().dialect.name == "sqlite"
    while True:
        if sqlite:
            # Writing first takes SQLite's single write lock (it has no row locks), so
            # the batch read below stays true until commit, as FOR NO KEY UPDATE makes it
            # on PostgreSQL, and two runs at once queue instead of failing. (On PostgreSQL
            # the write would hold the run's row for the batch, and a cancel wait on it.)
            tracking.progress(run_id, summary["moved"], max(total, summary["moved"]))
        stmt = base if after is None else base.where(
            or_(Loan.user_id > after[0], and_(Loan.user_id == after[0], Loan.id > after[1])))
        rows = db.session.execute(stmt.limit(batch_size)).all()
        if not rows:
            db.session.commit()
            break
        tracking.cancel_point(run_id, summary["moved"], max(total, summary["moved"]))
        if len(rows) == batch_size:
            # Finish the last member here, so their one email names every moved loan.
            last = rows[-1]
            rows += db.session.execute(base.where(Loan.user_id == last.user_id, Loan.id > last.id)).all()
        moves = [{"loan_id": r.id, "old": r.due_at, "new": same_time_on(r.due_at, target)} for r in rows]
        db.session.execute(move, moves)
        # A past day closed after fines-accrual charged it: those fines follow the new dates.
        summary["repriced"] += reprice_moved(db.session, [(r.id, r.user_id) for r in rows])
        summary["notified"] += _notify(rows, moves, day, reason)
        summary["moved"] += len(rows)
        after = (rows[-1].user_id, rows[-1].id)
        tracking.progress(run_id, summary["moved"], max(total, summary["moved"]))
        db.session.commit()
    return summary


def _notify(rows, moves, day: date, reason: str | None) -> int:
    now = utcnow()
    by_user = defaultdict(list)
    for row, moved in zip(rows, moves, strict=True):
        by_user[row.user_id].append((row, moved["new"]))
    values = []
    for user_id, loans in by_user.items():
        first = loans[0][0]
        subject, body = render("due_date_moved", username=first.username, closed_date=day, reason=reason,
                               loans=[{"id": r.id, "title": r.title, "due_at": new} for r, new in loans])
        values.append({"kind": "due_date_moved", "dedupe_key": f"due_date_moved:user:{user_id}:{day}",
                       "recipient": first.email, "subject": subject[:300], "body": body,
                       "user_id": user_id, "loan_id": loans[0][0].id if len(loans) == 1 else None,
                       "state": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now})
    return len(tracking.insert_ignore(Notification, values, ["dedupe_key"], returning=Notification.id))
