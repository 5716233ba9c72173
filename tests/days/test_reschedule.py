"""Closing a date moves the open loans due on it (a real worker, a real SMTP server)."""

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from api.celery_setup import INTERNAL_TASKS
from api.extensions import db
from api.models import AuditEntry, ClosedDate, Loan, TaskRun
from tests.conftest import create_user, is_problem
from tests.worker.fixtures import wait_for
from tests.worker.helpers import outbox, settled, task_run

pytestmark = pytest.mark.worker
LA = ZoneInfo("America/Los_Angeles")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=LA)


def add_loan(app, make_book, user_id, due_at, *, returned=False) -> int:
    book_id = make_book(copies=1, title=f"Title {uuid.uuid4().hex[:6]}")
    with app.app_context():
        loan = Loan(user_id=user_id, book_id=book_id, borrowed_at=due_at - timedelta(days=14), due_at=due_at,
                    returned_at=due_at - timedelta(days=1) if returned else None)
        db.session.add(loan)
        db.session.commit()
        return loan.id


def due_dates(app) -> dict[int, datetime]:
    with app.app_context():
        return dict(db.session.execute(select(Loan.id, Loan.due_at)).all())


@pytest.fixture
def library(worker_app, app, monkeypatch):
    for flask_app in (worker_app, app):
        monkeypatch.setitem(flask_app.config, "LIBRARY_TIMEZONE", "America/Los_Angeles")
    monkeypatch.setitem(worker_app.config, "JOB_BATCH_SIZE", 2)


def test_closing_a_date_moves_its_loans_and_emails_each_member_once(
        worker_app, celery_worker, inbox, library, admin, make_book):
    ann, bob, cat = (create_user(worker_app, name) for name in ("ann", "bob", "cat"))
    # Ann's three loans straddle a batch of two: her one email must still name all three.
    moved = {add_loan(worker_app, make_book, user.id, local(2026, 12, 24, *hm)): local(2026, 12, 26, *hm)
             for user, hm in ((ann, (10, 0)), (ann, (23, 30)), (ann, (0, 0)), (bob, (17, 0)))}
    # 23:00 on the 23rd in Los Angeles is the 24th in UTC: not due on the closed day; nor is
    # midnight starting the 25th.
    kept = [add_loan(worker_app, make_book, cat.id, local(2026, 12, 23, 23)),
            add_loan(worker_app, make_book, cat.id, local(2026, 12, 25, 0, 0)),
            add_loan(worker_app, make_book, cat.id, local(2026, 12, 24, 12), returned=True)]
    before = due_dates(worker_app)
    client = worker_app.test_client()

    with worker_app.app_context():  # closed before: no job for the 25th
        db.session.add(ClosedDate(date=date(2026, 12, 25), reason="Christmas"))
        db.session.commit()
    eve = client.post("/admin/calendar/closed-dates", headers=admin.headers,
                      json={"date": "2026-12-24", "reason": "Christmas Eve"})
    assert eve.status_code == 201
    run_id = eve.get_json()["task_id"]
    assert eve.get_json()["status_url"].endswith(f"/admin/tasks/{run_id}")
    done = wait_for(lambda: (r := task_run(worker_app, run_id)) and r.state in ("succeeded", "failed") and r,
                    message="the reschedule run")
    assert done.state == "succeeded", done.error
    assert done.result == {"date": "2026-12-24", "moved_to": "2026-12-26", "moved": 4, "notified": 2,
                           "repriced": 0}
    assert (done.name, done.requested_by, done.progress_current) == ("calendar-reschedule", admin.id, 4)

    after = due_dates(worker_app)
    assert {i: after[i] for i in moved} == moved
    assert {i: after[i] for i in kept} == {i: before[i] for i in kept}

    wait_for(lambda: settled(worker_app) and len(inbox.messages) == 2, message="two emails")
    by_recipient = {m["To"]: m for m in inbox.messages}
    assert set(by_recipient) == {ann.email, bob.email}
    ann_body = by_recipient[ann.email].get_payload(decode=True).decode()
    assert ann_body.count("  - ") == 3 and "Christmas Eve" in ann_body
    assert by_recipient[ann.email]["Subject"] == "New due date: the library is closed on 2026-12-24"

    # Run again (a redelivery, a second worker): nothing is left to move or to send.
    again_id = str(uuid.uuid4())
    worker_app.extensions["celery"].send_task(INTERNAL_TASKS["calendar-reschedule"], task_id=again_id,
                                              kwargs={"day": "2026-12-24"}, ignore_result=True)
    again = wait_for(lambda: (r := task_run(worker_app, again_id)) and r.state == "succeeded" and r,
                     message="the second run")
    assert (again.result["moved"], again.result["notified"]) == (0, 0)
    assert due_dates(worker_app) == after
    wait_for(lambda: settled(worker_app))
    assert len(inbox.messages) == 2 and len(outbox(worker_app)) == 2

    listed = client.get("/admin/tasks?name=calendar-reschedule", headers=admin.headers).get_json()
    assert {r["task_id"] for r in listed["items"]} == {run_id, again_id}


def test_two_runs_at_once_move_and_email_once(worker_app, threaded_worker, inbox, library, make_book):
    users = [create_user(worker_app, f"reader{i}") for i in range(3)]
    loans = [add_loan(worker_app, make_book, user.id, local(2026, 12, 24, 9 + i))
             for i, user in enumerate(users * 2)]
    with worker_app.app_context():
        db.session.add(ClosedDate(date=date(2026, 12, 24), reason=None))
        db.session.commit()
    celery = worker_app.extensions["celery"]
    ids = [str(uuid.uuid4()) for _ in range(2)]
    for run_id in ids:
        celery.send_task(INTERNAL_TASKS["calendar-reschedule"], task_id=run_id, kwargs={"day": "2026-12-24"},
                         ignore_result=True)
    runs = wait_for(lambda: (rs := [task_run(worker_app, i) for i in ids])
                    and all(r and r.state in ("succeeded", "failed") for r in rs) and rs, message="both runs")
    assert [r.state for r in runs] == ["succeeded", "succeeded"], [r.error for r in runs]
    assert sum(r.result["moved"] for r in runs) == 6 and sum(r.result["notified"] for r in runs) == 3
    after = due_dates(worker_app)
    assert {after[i] for i in loans} == {local(2026, 12, 25, 9 + i) for i in range(6)}
    wait_for(lambda: settled(worker_app) and len(inbox.messages) >= 3, message="three emails")
    assert sorted(m["To"] for m in inbox.messages) == sorted(u.email for u in users)


def test_reopened_before_the_job_runs_moves_nothing(worker_app, library, make_book):
    from worker.days import reschedule_due_on

    user = create_user(worker_app, "dee")
    loan_id = add_loan(worker_app, make_book, user.id, local(2026, 12, 24, 10))
    with worker_app.app_context():
        result = reschedule_due_on("no-run", day=date(2026, 12, 24))
    assert result == {"date": "2026-12-24", "moved_to": None, "moved": 0, "notified": 0, "repriced": 0}
    assert due_dates(worker_app)[loan_id] == local(2026, 12, 24, 10)


def test_broker_down_keeps_nothing(dead_broker_app, app, admin, make_book):
    user = create_user(app, "eve")
    add_loan(app, make_book, user.id, datetime(2026, 12, 24, 10, tzinfo=ZoneInfo("UTC")))
    response = dead_broker_app.test_client().post("/admin/calendar/closed-dates", headers=admin.headers,
                                                  json={"date": "2026-12-24"})
    assert is_problem(response, 503)
    with app.app_context():
        for model in (ClosedDate, TaskRun, AuditEntry):
            assert db.session.scalar(select(func.count()).select_from(model)) == 0, model


def test_a_cancelled_reschedule_can_be_retried(worker_app, clean_broker, inbox, library, admin, make_book):
    from api.models import TaskRun
    from tests.worker.fixtures import run_worker

    dee = create_user(worker_app, "dee")
    loan_id = add_loan(worker_app, make_book, dee.id, local(2026, 12, 24, 10))
    client = worker_app.test_client()
    closed = client.post("/admin/calendar/closed-dates", headers=admin.headers, json={"date": "2026-12-24"})
    run_id = closed.get_json()["task_id"]  # no worker yet: it stays queued
    cancelled = client.post(f"/admin/tasks/{run_id}/cancel", headers=admin.headers)
    assert cancelled.get_json()["state"] == "cancelled"
    retry = client.post(f"/admin/tasks/{run_id}/retry", headers=admin.headers)
    assert retry.status_code == 202, retry.get_json()
    retry_id = retry.get_json()["task_id"]
    with run_worker(worker_app, pool="solo"):
        done = wait_for(lambda: (r := task_run(worker_app, retry_id)) and r.state in ("succeeded", "failed")
                        and r, message="the retried reschedule")
    assert done.state == "succeeded", done.error
    assert (done.params, done.retry_of, done.result["moved"]) == ({"day": "2026-12-24"}, run_id, 1)
    assert due_dates(worker_app)[loan_id] == local(2026, 12, 25, 10)
    with worker_app.app_context():  # a run recorded before runs kept their day cannot be
        db.session.add(TaskRun(id="old", name="calendar-reschedule", state="failed"))
        db.session.commit()
    old = client.post("/admin/tasks/old/retry", headers=admin.headers)
    assert is_problem(old, 409) and old.get_json()["code"] == "task_not_retryable"


def test_a_cancelled_reschedule_delivered_late_ends_quietly(worker_app, clean_broker, library, admin,
                                                            make_book):
    from worker.days import reschedule_closed_date

    dee = create_user(worker_app, "dee")
    add_loan(worker_app, make_book, dee.id, local(2026, 12, 24, 10))
    client = worker_app.test_client()
    run_id = client.post("/admin/calendar/closed-dates", headers=admin.headers,
                         json={"date": "2026-12-24"}).get_json()["task_id"]
    cancelled = client.post(f"/admin/tasks/{run_id}/cancel", headers=admin.headers)
    assert cancelled.get_json()["state"] == "cancelled"
    # Its message reaching a worker after all: the run is not started, and the task ends
    # without an error (it raised TypeError on the missing result).
    late = reschedule_closed_date.apply(args=["2026-12-24"], task_id=run_id)
    assert late.successful(), late.traceback
    assert late.result is None and task_run(worker_app, run_id).state == "cancelled"
