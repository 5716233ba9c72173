"""CSV exports: loans and account lines.

Keyset-batched by id: each batch is one query, its CSV lines are one chunk of the
output file written in the batch's transaction, and progress commits with it.
Memory is one batch whatever the table's size.

Cells that a spreadsheet would run as a formula are defused (worker/csv_text.py).
"""

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from celery import shared_task
from flask import current_app
from sqlalchemy import func, select

from api.admin.files import OutputWriter
from api.admin.params import day_or_time_bounds
from api.clock import utcnow
from api.extensions import db
from api.models import AccountLine, Book, Loan, User
from worker import tracking
from worker.csv_text import csv_text

LOAN_COLUMNS = ("loan_id", "status", "borrowed_at", "due_at", "returned_at", "renewals",
                "user_id", "username", "email", "book_id", "isbn", "title")


@shared_task(name="worker.exports.export_loans", bind=True)
def export_loans(self):
    return tracking.run_with_handle(self, "export-loans", loans_csv)

LINE_COLUMNS = ("id", "user_id", "kind", "amount", "currency", "loan_id", "note", "created_at",
                "created_by")


@shared_task(name="worker.exports.export_account_lines", bind=True)
def export_account_lines(self):
    return tracking.run_with_handle(self, "export-account-lines", account_lines_csv)


def _day_start(value: str) -> datetime:
    return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)


def _loan_conditions(params: dict, now: datetime) -> list:
    conditions = []
    status = params.get("status")
    if status == "open":  # not returned: active and overdue
        conditions.append(Loan.returned_at.is_(None))
    elif status is not None:
        conditions.append(Loan.status_is(status, now))
    if "borrowed_from" in params:
        conditions.append(Loan.borrowed_at >= _day_start(params["borrowed_from"]))
    if "borrowed_to" in params:
        conditions.append(Loan.borrowed_at < _day_start(params["borrowed_to"]) + timedelta(days=1))
    return conditions


def loans_csv(run: tracking.JobRun) -> dict:
    now = utcnow()
    conditions = _loan_conditions(run.params, now)
    batch_size = current_app.config["JOB_BATCH_SIZE"]
    total = db.session.scalar(select(func.count()).select_from(Loan).where(*conditions))
    db.session.commit()
    base = (select(Loan.id, Loan.borrowed_at, Loan.due_at, Loan.returned_at, Loan.renewals,
                   Loan.user_id, User.username, User.email, Loan.book_id, Book.isbn, Book.title)
            .join(User, User.id == Loan.user_id).join(Book, Book.id == Loan.book_id)
            .where(*conditions).order_by(Loan.id).limit(batch_size))

    def values(row) -> list:
        status = Loan.status_of(row.returned_at, row.due_at, now)  # GET /loans' words, at `now`
        return [row.id, status, _iso(row.borrowed_at), _iso(row.due_at), _iso(row.returned_at),
                row.renewals, row.user_id, row.username, row.email, row.book_id, row.isbn, row.title]

    return _write_csv(run, f"loans-{now:%Y%m%d-%H%M%S}.csv", LOAN_COLUMNS, base, Loan.id, total, values)


def account_lines_csv(run: tracking.JobRun) -> dict:
    """Ledger lines by id; `from`/`to` bound created_at (a day is the whole UTC day)."""
    now = utcnow()
    conditions = []
    if "from" in run.params:
        conditions.append(AccountLine.created_at >= day_or_time_bounds(run.params["from"])[0])
    if "to" in run.params:
        conditions.append(AccountLine.created_at < day_or_time_bounds(run.params["to"])[1])
    currency = current_app.config["CURRENCY"]
    batch_size = current_app.config["JOB_BATCH_SIZE"]
    total = db.session.scalar(select(func.count()).select_from(AccountLine).where(*conditions))
    db.session.commit()
    base = (select(AccountLine.id, AccountLine.user_id, AccountLine.kind, AccountLine.amount,
                   AccountLine.loan_id, AccountLine.note, AccountLine.created_at,
                   AccountLine.created_by)
            .where(*conditions).order_by(AccountLine.id).limit(batch_size))

    def values(row) -> list:
        return [row.id, row.user_id, row.kind, row.amount, currency, _blank(row.loan_id),
                _blank(row.note), _iso(row.created_at), _blank(row.created_by)]

    return _write_csv(run, f"account-lines-{now:%Y%m%d-%H%M%S}.csv", LINE_COLUMNS, base,
                      AccountLine.id, total, values)


def _write_csv(run: tracking.JobRun, filename: str, columns: tuple, stmt, key, total: int,
               values: Callable[[Any], list]) -> dict:
    """`filename`: a header of `columns`, then `values(row)` of each of `stmt`'s rows,
    keyset-batched by `key` (stmt orders by it and is limited to a batch): one chunk
    per batch, progress committed with each."""
    run.start()  # from the first row again after a redelivery: the file is rewritten
    out = OutputWriter(run.id, filename=filename, content_type="text/csv")
    out.write(_csv_line(columns))
    written, after = 0, 0
    run.checkpoint(0, total, {"rows": 0})
    while True:
        rows = db.session.execute(stmt.where(key > after)).all()
        # End the read before writing (SQLite: a read-then-write transaction fails
        # when another writer committed in between).
        db.session.commit()
        if not rows:
            break
        tracking.cancel_point(run.id, written, max(total, written))
        out.write(csv_text(values(row) for row in rows).encode())
        out.flush()
        written += len(rows)
        after = rows[-1].id
        run.checkpoint(written, max(total, written), {"rows": written})
    out.close()
    db.session.commit()
    return run.with_counts({"rows": written, "bytes": out.file.size})


def _blank(value) -> str:
    return "" if value is None else str(value)


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def _csv_line(values) -> bytes:
    return csv_text([values]).encode()
