"""fines-accrual: every open overdue loan's `overdue` line brought up to date.

Keyset batches of JOB_BATCH_SIZE open overdue loans (ix_loans_open_due_at, ordered by
due_at, id), each in one transaction: read the batch FOR SHARE, price it (the
effective rule once per distinct (category, item type), the calendar once per
distinct due day) and write it with api.accounts.fines.write_overdue_lines (one
upsert). FOR SHARE keeps a return from committing between the read and the write,
so a line settled at return is never overwritten with a fine counted to today; two
concurrent runs share the lock and write identical amounts, so the second changes
nothing, as does a second run on the same day. Memory is one batch.
"""

from datetime import datetime

from celery import shared_task
from flask import current_app
from sqlalchemy import and_, func, or_, select

from api.accounts.fines import DayCounter, RuleCache, library_date, loan_fine, write_overdue_lines
from api.clock import utcnow
from api.extensions import db
from api.models import Loan
from worker import tracking
from worker.jobs import run_job


@shared_task(name="worker.fines.fines_accrual", bind=True)
def fines_accrual(self) -> dict:
    return run_job(self, "fines-accrual", accrue_fines)


def accrue_fines(run_id: str, *, now: datetime | None = None) -> dict:
    now = now or utcnow()
    today = library_date(now)
    session = db.session
    conditions = [Loan.returned_at.is_(None), Loan.due_at < now]
    batch_size = current_app.config["JOB_BATCH_SIZE"]
    total = session.scalar(select(func.count()).select_from(Loan).where(*conditions))
    tracking.progress(run_id, 0, total)
    session.commit()

    # The columns _loan_rule_keys reads come with the batch (today none are needed).
    base = (select(Loan.id, Loan.user_id, Loan.due_at).where(*conditions)
            .order_by(Loan.due_at, Loan.id).limit(batch_size).with_for_update(read=True, of=Loan))
    days = DayCounter(session)
    scanned = changed = charged = 0
    after = None
    while True:
        # Written first: on SQLite this takes the write lock, so the batch read next is
        # current and stays so until commit (no row locks there).
        tracking.progress(run_id, scanned, max(total, scanned))
        stmt = base
        if after is not None:
            stmt = stmt.where(or_(Loan.due_at > after[0], and_(Loan.due_at == after[0], Loan.id > after[1])))
        rows = session.execute(stmt).all()
        if not rows:
            session.commit()
            break
        rules = RuleCache(session)
        lines = [{"loan_id": row.id, "user_id": row.user_id,
                  "amount": loan_fine(rules(row), days(row.due_at, today))} for row in rows]
        changed += write_overdue_lines(session, lines)
        charged += sum(1 for line in lines if line["amount"] > 0)
        scanned += len(rows)
        after = (rows[-1].due_at, rows[-1].id)
        tracking.progress(run_id, scanned, max(total, scanned))
        session.commit()
    return {"scanned": scanned, "charged": charged, "changed": changed}
