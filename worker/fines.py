"""fines-accrual: every open overdue loan's `overdue` line brought up to date.

The pattern of worker/keyset.py: open overdue loans in keyset batches of
JOB_BATCH_SIZE over (due_at, id) (ix_loans_open_due_at_id), and per batch, in one
transaction: the query that bounds the batch takes its loans FOR SHARE, then one
INSERT ... SELECT ... ON CONFLICT DO UPDATE prices them and writes their lines
(api.accounts.fines.write_fines); no loan passes through Python, so memory is flat. FOR SHARE
keeps a return from committing between the read and the write, so a line settled
at return is never overwritten with a fine counted to today; two concurrent runs
share the lock and write identical amounts, so the second changes nothing, as does
a second run on the same day.
"""

from datetime import datetime

from celery import shared_task
from flask import current_app
from sqlalchemy import func, select, text

from api.accounts.fines import library_date, write_fines
from api.clock import utcnow
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
    # On PostgreSQL the bounding query takes the batch FOR SHARE (see the module doc);
    # SQLite has no row locks and serialises writers instead.
    lock = Loan if session.get_bind().dialect.name == "postgresql" else None
    for batch in keyset.batches(session, (Loan.due_at, Loan.id), conditions,
                                current_app.config["JOB_BATCH_SIZE"], lock=lock):
        if lock is not None:
            # The batch's commit need not wait for its WAL to reach disk: a crash can lose
            # only the last batches, absolute amounts the next run writes again (nothing
            # is added twice). Locks, and so every guarantee above, are unchanged. LOCAL:
            # it ends with the batch, never reaching another user of the connection.
            session.execute(text("SET LOCAL synchronous_commit = off"))
        fined, written = write_fines(session, [*conditions, batch.where], end=today, limit=batch.size)
        scanned += batch.size
        charged += fined
        changed += written
        # Progress commits with the batch it describes.
        tracking.progress(run_id, scanned, max(total, scanned))
        session.commit()
    return {"scanned": scanned, "charged": charged, "changed": changed}
