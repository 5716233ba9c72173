"""A cancel that lands while a batch is in hand: the batch finishes and commits, the
run stops before the next one, and if there is no next one the run has done all its
work and ends `succeeded`, with its result (it used to end `cancelled`, result lost).

Each job runs in this process as its worker would, in batches of 2 over 5 items, and
the cancel is written just after the cancel point of the batch the test names let it
pass, in the job's own transaction: seen from the job, a cancel that any session
commits while that batch is in hand (on SQLite it waits for the batch's write lock)."""

import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, update

from api import clock
from api.extensions import db
from api.models import AccountLine, Book, CirculationRule, ClosedDate, Hold, Loan, Notification, TaskRun
from tests.admin.jobs import catalog_csv, ready_holds, upload, wait_finished
from tests.helpers import create_user
from tests.worker.test_jobs import add_loans
from worker import tracking

pytestmark = pytest.mark.worker


@pytest.fixture
def batches_of_two(worker_app, monkeypatch):
    for key in ("IMPORT_BATCH_SIZE", "JOB_BATCH_SIZE", "BULK_BATCH_SIZE"):
        monkeypatch.setitem(worker_app.config, key, 2)


def cancel_in_batch(monkeypatch, batch: int) -> None:
    """Every job's cancel point from now on: the run is cancelled while `batch` is in hand."""
    passed = tracking.cancel_point

    def cancel_point(run_id: str, done: int, total: int | None) -> None:
        passed(run_id, done, total)
        calls = cancelled.setdefault(run_id, [])
        calls.append(done)
        if len(calls) == batch:
            db.session.execute(update(TaskRun).where(TaskRun.id == run_id)
                               .values(cancel_requested_at=clock.utcnow()))

    cancelled: dict[str, list[int]] = {}
    monkeypatch.setattr(tracking, "cancel_point", cancel_point)


def overdue_loans(worker_app, make_book):
    add_loans(worker_app, make_book, [-1] * 5)


def fined_overdue_loans(worker_app, make_book):
    overdue_loans(worker_app, make_book)
    with worker_app.app_context():  # a fine per day, so that each overdue loan gets a line
        db.session.execute(update(CirculationRule).where(CirculationRule.patron_category == "*",
                                                         CirculationRule.item_type == "*")
                           .values(fine_per_day=10, fine_grace_days=0))
        db.session.commit()


CLOSED = date(2026, 12, 24)


def loans_due_on_a_closed_day(worker_app, make_book):
    with worker_app.app_context():
        db.session.add(ClosedDate(date=CLOSED, reason="test"))
        db.session.commit()
    for _ in range(5):  # five members: a batch of 2 ends at a member boundary
        member = create_user(worker_app, f"member{uuid.uuid4().hex[:6]}")
        with worker_app.app_context():
            book_id = make_book(copies=1)
            due = datetime(2026, 12, 24, 10, tzinfo=UTC)
            db.session.add(Loan(user_id=member.id, book_id=book_id, borrowed_at=due - timedelta(days=14),
                                due_at=due))
            db.session.commit()


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def job(name: str):
    """(data, the job as its task calls it, how many items it did) for a job name."""
    from worker.days import reschedule_due_on
    from worker.exports import loans_csv
    from worker.fines import accrue_fines
    from worker.jobs import _expire_holds, loan_notices

    def handle(fn):
        return lambda run_id: fn(tracking.JobRun(run_id))

    return {
        "overdue-check": (overdue_loans, lambda run_id: loan_notices(run_id, kind="overdue"),
                          lambda _run: count(Notification)),
        "fines-accrual": (fined_overdue_loans, accrue_fines,
                          lambda _run: count(AccountLine, AccountLine.kind == "overdue")),
        "expire-holds": (ready_holds, _expire_holds, lambda _run: count(Hold, Hold.status == "expired")),
        "export-loans": (overdue_loans, handle(loans_csv), lambda run: run.result["rows"]),
        "calendar-reschedule": (loans_due_on_a_closed_day,
                                lambda run_id: reschedule_due_on(run_id, day=CLOSED),
                                lambda _run: count(Loan, Loan.due_at > datetime(2026, 12, 25, tzinfo=UTC))),
    }[name]


def run_job(worker_app, make_book, name: str) -> tuple[TaskRun, int]:
    data, fn, done = job(name)
    data(worker_app, make_book)
    run_id = str(uuid.uuid4())
    with worker_app.app_context():
        tracking.run_job(SimpleNamespace(request=SimpleNamespace(id=run_id)), name, fn)
        run = db.session.get(TaskRun, run_id)
        db.session.expunge(run)
        return run, done(run)


JOBS = ["overdue-check", "fines-accrual", "expire-holds", "export-loans", "calendar-reschedule"]


@pytest.mark.parametrize("name", JOBS)
def test_a_cancel_in_the_last_batch_lets_the_finished_run_succeed(
        worker_app, make_book, batches_of_two, monkeypatch, name):
    cancel_in_batch(monkeypatch, 3)  # 5 items: batches of 2, 2 and 1
    run, done = run_job(worker_app, make_book, name)
    assert run.state == "succeeded", run.error
    assert run.cancel_requested_at is not None and run.result is not None
    assert done == 5 and run.progress_current == run.progress_total == 5


@pytest.mark.parametrize("name", JOBS)
def test_a_cancel_mid_run_keeps_the_batch_in_hand_and_stops_before_the_next(
        worker_app, make_book, batches_of_two, monkeypatch, name):
    cancel_in_batch(monkeypatch, 2)
    run, done = run_job(worker_app, make_book, name)
    assert run.state == "cancelled" and run.finished_at is not None
    assert done == 4 and run.progress_current == 4  # batches 1 and 2; 3 never ran


def test_an_import_cancelled_in_its_last_batch_succeeds(
        worker_app, admin, batches_of_two, monkeypatch, celery_worker):
    cancel_in_batch(monkeypatch, 3)
    client = worker_app.test_client()
    run = wait_finished(client, admin, upload(client, admin, catalog_csv(5)).get_json()["task_id"])
    assert run["state"] == "succeeded" and run["cancel_requested_at"] is not None
    assert run["result"]["records"] == 5 and run["result"]["created"] == 5
    with worker_app.app_context():
        assert count(Book) == 5
