"""The scheduled jobs through a real worker: each notice once, however often they run."""

import uuid
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from api import clock
from api.celery_setup import JOB_TASKS
from api.days.service import library_today
from api.extensions import db
from api.models import Hold, Loan
from tests.helpers import create_user, take_item
from tests.worker.fixtures import wait_for
from tests.worker.helpers import outbox, settled, task_run
from worker.jobs import loan_notices

pytestmark = pytest.mark.worker


def add_loans(worker_app, make_book, due_in_days: list[float], *, returned: int = 0) -> list[int]:
    """Loans of one member due `due_in_days` from now; the first `returned` are returned."""
    user = create_user(worker_app, f"reader{uuid.uuid4().hex[:8]}")
    now = clock.utcnow()
    with worker_app.app_context():
        loans = []
        for i, days in enumerate(due_in_days):
            book_id = make_book(copies=1, title=f"Title {i}")
            loans.append(Loan(user_id=user.id, book_id=book_id, borrowed_at=now - timedelta(days=20),
                              due_at=now + timedelta(days=days),
                              returned_at=now if i < returned else None))
        db.session.add_all(loans)
        db.session.commit()
        return [loan.id for loan in loans]


def run(worker_app, name: str) -> dict:
    """Queue a job as beat would (no TaskRun row yet) and wait for its record."""
    run_id = str(uuid.uuid4())
    worker_app.extensions["celery"].send_task(JOB_TASKS[name], task_id=run_id, ignore_result=True)
    done = wait_for(lambda: (r := task_run(worker_app, run_id)) and r.state in ("succeeded", "failed") and r,
                    message=f"{name} to finish")
    assert done.state == "succeeded", done.error
    assert done.requested_by is None and done.name == name
    return done


def test_overdue_check_one_notice_per_loan_per_day(worker_app, celery_worker, inbox, make_book):
    worker_app.config["BULK_BATCH_SIZE"] = 2
    add_loans(worker_app, make_book, [-3, -1, -1, -5, 3], returned=1)  # 3 open and overdue
    first = run(worker_app, "overdue-check")
    assert first.result == {"scanned": 3, "queued": 3}
    assert (first.progress_current, first.progress_total) == (3, 3)
    wait_for(lambda: settled(worker_app) and len(inbox.messages) == 3)

    assert run(worker_app, "overdue-check").result == {"scanned": 3, "queued": 0}
    wait_for(lambda: settled(worker_app))
    assert len(inbox.messages) == 3
    assert all(m["Subject"].startswith("Overdue: Title") for m in inbox.messages)

    clock.advance(timedelta(days=1))  # the worker thread shares the test's clock
    assert run(worker_app, "overdue-check").result == {"scanned": 3, "queued": 3}
    wait_for(lambda: settled(worker_app) and len(inbox.messages) == 6)
    assert len(set(inbox.message_ids())) == 6


def test_two_overdue_checks_at_once_send_once(worker_app, threaded_worker, inbox, make_book):
    worker_app.config["BULK_BATCH_SIZE"] = 2
    add_loans(worker_app, make_book, [-1 - i / 10 for i in range(7)])
    celery = worker_app.extensions["celery"]
    ids = [str(uuid.uuid4()) for _ in range(2)]
    for run_id in ids:
        celery.send_task(JOB_TASKS["overdue-check"], task_id=run_id, ignore_result=True)
    runs = wait_for(lambda: (rs := [task_run(worker_app, i) for i in ids])
                    and all(r and r.state == "succeeded" for r in rs) and rs, message="both runs")
    assert sum(r.result["queued"] for r in runs) == 7
    wait_for(lambda: settled(worker_app) and len(inbox.messages) >= 7)
    assert len(outbox(worker_app)) == 7
    assert set(Counter(inbox.message_ids()).values()) == {1}
    assert len(inbox.messages) == 7


def test_due_soon_reminder_once_per_loan(worker_app, celery_worker, inbox, make_book):
    [soon, _later, _overdue] = add_loans(worker_app, make_book, [1, 5, -1])
    assert run(worker_app, "due-soon-reminders").result == {"scanned": 1, "queued": 1}
    assert run(worker_app, "due-soon-reminders").result == {"scanned": 1, "queued": 0}
    wait_for(lambda: settled(worker_app) and len(inbox.messages) == 1)
    [row] = outbox(worker_app).values()
    assert row.dedupe_key == f"due_soon:loan:{soon}" and row.state == "sent"
    assert inbox.messages[0]["Subject"] == "Due soon: Title 0"


def test_expire_holds_passes_the_copy_on(worker_app, celery_worker, inbox, make_book):
    book_id = make_book(copies=1)
    first, second = (create_user(worker_app, name) for name in ("first", "second"))
    now = clock.utcnow()
    with worker_app.app_context():
        db.session.add_all([
            Hold(user_id=first.id, book_id=book_id, status="ready", created_at=now - timedelta(days=5),
                 ready_at=now - timedelta(days=4), expires_at=now - timedelta(days=1),
                 item_id=take_item(book_id, "on_hold_shelf")),
            Hold(user_id=second.id, book_id=book_id, status="waiting", created_at=now - timedelta(days=4)),
        ])
        db.session.commit()
    assert run(worker_app, "expire-holds").result == {"expired": 1, "resumed": 0}
    wait_for(lambda: settled(worker_app) and len(inbox.messages) == 1)
    assert inbox.messages[0]["To"] == second.email
    with worker_app.app_context():
        assert db.session.scalars(select(Hold.status).order_by(Hold.id)).all() == ["expired", "ready"]


def test_expire_holds_resumes_a_suspension_that_has_ended_once(worker_app, celery_worker, inbox,
                                                               make_book):
    book_id = make_book(copies=1)  # on the shelf: every hold was suspended when it came back
    waiter = create_user(worker_app, "waiter")
    with worker_app.app_context():
        db.session.add(Hold(user_id=waiter.id, book_id=book_id, status="waiting",
                            created_at=clock.utcnow() - timedelta(days=9), suspended_until=library_today()))
        db.session.commit()
    assert run(worker_app, "expire-holds").result == {"expired": 0, "resumed": 1}
    assert run(worker_app, "expire-holds").result == {"expired": 0, "resumed": 0}
    wait_for(lambda: settled(worker_app) and len(inbox.messages) == 1)
    assert inbox.messages[0]["To"] == waiter.email
    with worker_app.app_context():
        hold = db.session.scalars(select(Hold)).one()
        assert (hold.status, hold.suspended_until) == ("ready", None)


def test_keyset_batches_cover_ties_exactly_once(worker_app, make_book):
    add_loans(worker_app, make_book, [-2] * 5)  # one due_at for all: the id breaks ties
    saved, worker_app.config["BULK_BATCH_SIZE"] = worker_app.config["BULK_BATCH_SIZE"], 2
    try:
        with worker_app.app_context():
            assert loan_notices("no-run", kind="overdue") == {"scanned": 5, "queued": 5}
            assert loan_notices("no-run", kind="overdue") == {"scanned": 5, "queued": 0}
    finally:
        worker_app.config["BULK_BATCH_SIZE"] = saved
    assert len({row.loan_id for row in outbox(worker_app).values()}) == 5
