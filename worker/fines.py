"""fines-accrual: every open overdue loan's `overdue` line brought up to date.

The pattern of worker/keyset.py: open overdue loans in keyset batches of
BULK_BATCH_SIZE over (due_at, id) (ix_loans_open_due_at_id), and per batch, in one
transaction: the accrual lock (api.accounts.fines.accrual_batch_begins), the query
that bounds the batch, then one INSERT ... SELECT ... ON CONFLICT DO UPDATE that
prices the loans and writes their lines (api.accounts.fines.write_fines); no loan
passes through Python, so memory is flat. The lock, which a return's settle_fine
takes shared, orders each batch against returns without locking a row: a line
settled at return is never overwritten with a fine counted to today. Two concurrent
runs take turns per batch and write identical amounts, so the second changes
nothing, as does a second run on the same day.
"""

from datetime import datetime

from celery import shared_task
from flask import current_app
from sqlalchemy import func, select

from api.accounts.fines import accrual_batch_begins, write_fines
from api.clock import utcnow
from api.days.service import library_date
from api.extensions import db
from api.models import Loan
from worker import keyset, tracking
from worker.jobs import run_job


@shared_task(name="worker.fines.fines_accrual", bind=True)
def fines_accrual(self) -> dict:
    return run_job(self, "fines-accrual", accrue_fines)


def accrue_fines(run_id: str, *, now: datetime | None = None) -> dict:
    now = now or utcnow()
    today = library_date(now)
    session = db.session
    conditions = [Loan.returned_at.is_(None), Loan.due_at < now]
    total = session.scalar(select(func.count()).select_from(Loan).where(*conditions))
    tracking.progress(run_id, 0, total)
    session.commit()

    scanned = changed = charged = 0
    # On PostgreSQL each batch's transaction begins with the accrual lock (see the
    # module doc); SQLite serialises writers instead.
    postgres = session.get_bind().dialect.name == "postgresql"
    begin = (lambda: accrual_batch_begins(session)) if postgres else None
    for batch in keyset.batches(session, (Loan.due_at, Loan.id), conditions,
                                current_app.config["BULK_BATCH_SIZE"], begin=begin):
        tracking.cancel_point(run_id, scanned, max(total, scanned))
        fined, written = write_fines(session, [*conditions, batch.where], end=today, limit=batch.size)
        scanned += batch.size
        charged += fined
        changed += written
        # Progress commits with the batch it describes.
        tracking.progress(run_id, scanned, max(total, scanned))
        session.commit()
    return {"scanned": scanned, "charged": charged, "changed": changed}
