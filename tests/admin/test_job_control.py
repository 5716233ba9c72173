"""Job control through a real worker: parameters, cancel, retry, messages, outputs."""

import csv
import io
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from api import clock
from api.extensions import db
from api.models import AuditEntry, Book, Notification, TaskFile, TaskRun
from tests.admin.jobs import catalog_csv, messages, ready_holds, status, upload, wait_finished
from tests.helpers import is_problem
from tests.worker.fixtures import run_worker
from worker.files import remove_expired_files

pytestmark = pytest.mark.worker


@pytest.fixture
def small_batches(worker_app):
    saved = {k: worker_app.config[k] for k in ("IMPORT_BATCH_SIZE", "JOB_BATCH_SIZE", "BULK_BATCH_SIZE",
                                                "TASK_OUTPUT_MAX_BYTES")}
    worker_app.config.update(IMPORT_BATCH_SIZE=5, JOB_BATCH_SIZE=2, BULK_BATCH_SIZE=2)
    yield worker_app
    worker_app.config.update(saved)


def start(client, admin, name: str, params=None):
    kwargs = {"json": params} if params is not None else {}
    return client.post(f"/admin/tasks/{name}", headers=admin.headers, **kwargs)


def test_parameters_are_checked_per_job_and_stored(worker_app, admin, clean_broker):
    client = worker_app.test_client()
    assert is_problem(start(client, admin, "overdue-check", {"batch": 5}), 400)
    assert is_problem(start(client, admin, "export-loans", {"status": "lost"}), 400)
    assert is_problem(start(client, admin, "export-loans", {"colour": "red"}), 400)
    bad_order = start(client, admin, "export-loans", {"borrowed_from": "2026-02-01",
                                                      "borrowed_to": "2026-01-01"})
    assert is_problem(bad_order, 400) and "borrowed_to" in bad_order.get_json()["errors"]
    assert is_problem(start(client, admin, "catalog-import", {}), 400)  # needs an upload
    assert is_problem(client.post("/admin/tasks/export-loans", headers=admin.headers, data="x",
                                  content_type="text/plain"), 415)
    with worker_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TaskRun)) == 0

    response = start(client, admin, "export-loans", {"status": "open", "borrowed_from": "2026-01-01"})
    assert response.status_code == 202
    run = status(client, admin, response.get_json()["task_id"])
    assert run["params"] == {"status": "open", "borrowed_from": "2026-01-01"}
    assert run["state"] == "queued" and run["retry_of"] is None and run["output_url"] is None
    assert start(client, admin, "expire-holds").status_code == 202  # no body: no params
    with worker_app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_id == run["task_id"]))
        assert entry.action == "task.started" and entry.data["params"] == run["params"]


def test_a_cancelled_queued_run_never_starts(worker_app, admin, clean_broker, inbox):
    client = worker_app.test_client()
    queued = start(client, admin, "export-loans").get_json()["task_id"]
    response = client.post(f"/admin/tasks/{queued}/cancel", headers=admin.headers)
    assert response.status_code == 202
    assert response.get_json()["state"] == "cancelled"
    assert response.get_json()["cancel_requested_at"] is not None
    # The message is still in the broker; a worker started now must skip it.
    with run_worker(worker_app, pool="solo"):
        after = start(client, admin, "expire-holds").get_json()["task_id"]
        assert wait_finished(client, admin, after)["state"] == "succeeded"  # it queued behind
    run = status(client, admin, queued)
    assert run["state"] == "cancelled" and run["started_at"] is None
    again = client.post(f"/admin/tasks/{queued}/cancel", headers=admin.headers)
    assert is_problem(again, 409) and again.get_json()["code"] == "task_finished"
    assert is_problem(client.post("/admin/tasks/nope/cancel", headers=admin.headers), 404)


def cancel_after_first_batch(worker_app, admin, run_ids: list):
    """An after-commit hook that cancels over HTTP from inside the worker, right after
    the run's first batch committed: a real cancel arriving mid-run, at a point the
    test chooses (no sleeps, no timing)."""
    api = worker_app.test_client()
    test_thread = threading.current_thread()

    def after_commit(_session):
        if not run_ids or threading.current_thread() is test_thread:
            return
        # A fresh app context: its own session, not the worker's (mid-commit) one.
        with worker_app.app_context():
            current = db.session.get(TaskRun, run_ids[0])
            progressed = current is not None and current.progress_current > 0
            db.session.rollback()
            if progressed:
                run_id = run_ids.pop()
                response = api.post(f"/admin/tasks/{run_id}/cancel", headers=admin.headers)
                assert response.status_code == 202, response.get_json()
            db.session.remove()

    return after_commit


def test_a_running_import_stops_at_the_next_batch_keeping_finished_ones(
        worker_app, admin, small_batches, celery_worker):
    client = worker_app.test_client()
    target: list[str] = []
    hook = cancel_after_first_batch(worker_app, admin, target)
    event.listen(Session, "after_commit", hook)
    try:
        response = upload(client, admin, catalog_csv(40))
        target.append(response.get_json()["task_id"])
        run = wait_finished(client, admin, response.get_json()["task_id"])
    finally:
        event.remove(Session, "after_commit", hook)
    assert run["state"] == "cancelled", run
    # Batches of 5 records: the cancel arrived after batch 1 committed; the job stopped
    # before batch 2, keeping batch 1; batches 2-8 never ran.
    assert run["result"]["records"] == 5 and run["result"]["created"] == 5
    assert run["finished_at"] is not None and run["cancel_requested_at"] is not None
    with worker_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Book)) == 5


def test_retry_runs_failed_and_cancelled_runs_again_with_the_same_params(
        worker_app, admin, celery_worker):
    client = worker_app.test_client()
    bad = upload(client, admin, b"name,year\nx,1\n").get_json()["task_id"]  # no usable header
    failed = wait_finished(client, admin, bad)
    assert failed["state"] == "failed" and "header lacks title" in failed["error"]
    response = client.post(f"/admin/tasks/{bad}/retry", headers=admin.headers)
    assert response.status_code == 202
    again = wait_finished(client, admin, response.get_json()["task_id"])
    assert again["retry_of"] == bad and again["params"] == failed["params"]
    assert again["name"] == "catalog-import" and again["state"] == "failed"

    good = start(client, admin, "expire-holds").get_json()["task_id"]
    assert wait_finished(client, admin, good)["state"] == "succeeded"
    refused = client.post(f"/admin/tasks/{good}/retry", headers=admin.headers)
    assert is_problem(refused, 409) and refused.get_json()["code"] == "task_not_retryable"
    assert is_problem(client.post("/admin/tasks/nope/retry", headers=admin.headers), 404)


def test_messages_are_paginated_filtered_and_counted(worker_app, admin, small_batches, celery_worker):
    client = worker_app.test_client()
    run_id = upload(client, admin, catalog_csv(12, bad_every=4)).get_json()["task_id"]
    run = wait_finished(client, admin, run_id)
    assert run["state"] == "succeeded"
    assert run["result"]["invalid"] == 3 and run["result"]["created"] == 9
    assert run["result"]["messages"] == {"info": 0, "warning": 0, "error": 3}
    page = messages(client, admin, run_id, "?level=error&per_page=2")
    assert page["meta"]["total"] == 3 and len(page["items"]) == 2
    # Row numbers count the header as row 1: rows 4, 8 and 12 are data rows 5, 9, 13.
    assert page["items"][0] == {"ref": "5", "level": "error", "code": "missing_field",
                                "detail": "title is empty."}
    assert messages(client, admin, run_id, "?level=info")["items"] == []
    assert is_problem(client.get(f"/admin/tasks/{run_id}/messages?level=loud", headers=admin.headers), 400)
    assert is_problem(client.get("/admin/tasks/nope/messages", headers=admin.headers), 404)


def test_export_loans_makes_a_csv_output_served_with_its_name(
        worker_app, admin, small_batches, celery_worker, make_book):
    from tests.worker.test_jobs import add_loans

    loan_ids = add_loans(worker_app, make_book, [-2, 3, 5, -1, 7], returned=2)
    client = worker_app.test_client()
    run_id = start(client, admin, "export-loans", {"status": "open"}).get_json()["task_id"]
    run = wait_finished(client, admin, run_id)
    assert run["state"] == "succeeded", run
    assert run["result"]["rows"] == 3 and run["progress"] == {"current": 3, "total": 3}
    assert run["output_url"] == f"/admin/tasks/{run_id}/output"
    response = client.get(run["output_url"], headers=admin.headers)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=loans-")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [int(r["loan_id"]) for r in rows] == loan_ids[2:]
    assert [r["status"] for r in rows] == ["active", "overdue", "active"]  # GET /loans' words
    assert is_problem(client.get(f"/admin/tasks/{run_id}/output"), 401)
    active = wait_finished(client, admin, start(client, admin, "export-loans", {"status": "active"})
                           .get_json()["task_id"])
    assert active["result"]["rows"] == 2

    # Retention: the file goes after TASK_FILE_RETENTION_DAYS, the run stays.
    clock.advance(timedelta(days=worker_app.config["TASK_FILE_RETENTION_DAYS"] + 1))
    with worker_app.app_context():
        assert remove_expired_files() == {"removed": 2}  # both exports' files
        assert db.session.scalar(select(func.count()).select_from(TaskFile)) == 0
    clock.reset()  # back to when the admin's token is valid
    assert status(client, admin, run_id)["output_url"] is None
    assert is_problem(client.get(f"/admin/tasks/{run_id}/output", headers=admin.headers), 404)


def test_an_output_over_the_size_cap_fails_the_run(worker_app, admin, small_batches, celery_worker,
                                                    make_book):
    from tests.worker.test_jobs import add_loans

    add_loans(worker_app, make_book, [1, 2, 3, 4, 5])
    worker_app.config["TASK_OUTPUT_MAX_BYTES"] = 300
    client = worker_app.test_client()
    run = wait_finished(client, admin, start(client, admin, "export-loans").get_json()["task_id"])
    assert run["state"] == "failed" and "TASK_OUTPUT_MAX_BYTES" in run["error"]
    assert run["output_url"] is None


def test_a_cancel_flagged_before_its_worker_died_holds_on_redelivery(worker_app):
    from types import SimpleNamespace

    from worker import tracking

    with worker_app.app_context():
        db.session.add(TaskRun(id="r1", name="overdue-check", state="running",
                               started_at=clock.utcnow(), cancel_requested_at=clock.utcnow()))
        db.session.commit()
        ran = []
        task = SimpleNamespace(request=SimpleNamespace(id="r1"))
        assert tracking.run_job(task, "overdue-check", lambda run_id: ran.append(run_id)) is None
        run = db.session.get(TaskRun, "r1")
        assert ran == [] and run.state == "cancelled" and run.finished_at is not None


def run_cancelled_after_first_batch(worker_app, run_id: str, name: str, job, **kwargs) -> TaskRun:
    """Run `job` in this process as its worker would, the cancel flag set as soon as its
    first batch of 2 has committed its progress; the run as it ended."""
    from types import SimpleNamespace

    from worker import tracking

    def flag_after_first_batch(_session):
        with worker_app.app_context():
            run = db.session.get(TaskRun, run_id)
            if run is not None and run.progress_current == 2 and run.cancel_requested_at is None:
                run.cancel_requested_at = clock.utcnow()
                db.session.commit()
            db.session.remove()

    with worker_app.app_context():
        event.listen(Session, "after_commit", flag_after_first_batch)
        try:
            tracking.run_job(SimpleNamespace(request=SimpleNamespace(id=run_id)), name, job, **kwargs)
        finally:
            event.remove(Session, "after_commit", flag_after_first_batch)
        run = db.session.get(TaskRun, run_id)
        db.session.expunge(run)
        return run


def test_the_overdue_check_stops_at_the_batch_after_a_cancel(worker_app, make_book, small_batches):
    """The scheduled jobs' own batch boundary (tracking.cancel_point) honours the flag too."""
    from tests.worker.test_jobs import add_loans
    from worker.jobs import loan_notices

    add_loans(worker_app, make_book, [-1] * 7)  # 4 batches of 2
    run = run_cancelled_after_first_batch(worker_app, "r2", "overdue-check", loan_notices, kind="overdue")
    assert run.state == "cancelled" and run.progress_current == 2  # batch 1 kept, 2-4 not run
    with worker_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Notification)) == 2


def test_expire_holds_stops_at_the_batch_after_a_cancel(worker_app, make_book, small_batches):
    """expire-holds keeps its progress current batch by batch and honours a cancel there
    (it used to run to the end, then report itself cancelled with no result)."""
    from api.models import Hold
    from worker.jobs import _expire_holds

    ready_holds(worker_app, make_book)  # 5 expired ready holds: 3 batches of 2
    run = run_cancelled_after_first_batch(worker_app, "r3", "expire-holds", _expire_holds)
    # Its progress commits as each batch begins: the flag came with batch 2 in hand.
    assert run.state == "cancelled" and run.progress_current == 4  # batches 1 and 2 kept
    with worker_app.app_context():
        assert sorted(db.session.scalars(select(Hold.status)).all()) == ["expired"] * 4 + ["ready"]


def test_a_run_whose_worker_was_lost_can_be_cancelled_and_retried(worker_app, admin, clean_broker):
    # Killed at the hard time limit, its message acknowledged: nothing would ever finish
    # it, and a running run cannot be retried. Cancelling ends it once it has been
    # running past TASK_TIME_LIMIT (no task runs longer), and then it can be retried.
    client = worker_app.test_client()
    now, limit = clock.utcnow(), timedelta(seconds=worker_app.config["TASK_TIME_LIMIT"])
    with worker_app.app_context():
        db.session.add_all([TaskRun(id=run_id, name="expire-holds", state="running", started_at=started)
                            for run_id, started in (("recent", now - limit + timedelta(minutes=1)),
                                                    ("lost", now - limit - timedelta(minutes=2)))])
        db.session.commit()
    flagged = client.post("/admin/tasks/recent/cancel", headers=admin.headers).get_json()
    assert (flagged["state"], flagged["error"]) == ("running", None)  # it may still be working
    ended = client.post("/admin/tasks/lost/cancel", headers=admin.headers).get_json()
    assert ended["state"] == "cancelled" and ended["finished_at"] is not None
    assert "worker was lost" in ended["error"]
    retry = client.post("/admin/tasks/lost/retry", headers=admin.headers)
    assert retry.status_code == 202
    assert status(client, admin, retry.get_json()["task_id"])["state"] == "queued"


def test_retention_keeps_an_upload_a_queued_or_running_run_still_reads(worker_app):
    runs = {"imported": "succeeded", "retry": "queued", "exporting": "running", "done": "succeeded"}
    with worker_app.app_context():
        db.session.add_all([TaskRun(id=run_id, name="catalog-import", state=state)
                            for run_id, state in runs.items()])
        db.session.flush()
        files = {run_id: TaskFile(run_id=run_id, kind=kind, filename="f.csv", content_type="text/csv")
                 for run_id, kind in (("imported", "input"), ("exporting", "output"), ("done", "output"))}
        db.session.add_all(files.values())
        db.session.flush()
        db.session.get(TaskRun, "retry").params = {"file_id": files["imported"].id}  # the retry reads it
        db.session.commit()
        clock.advance(timedelta(days=worker_app.config["TASK_FILE_RETENTION_DAYS"] + 1))
        assert remove_expired_files() == {"removed": 1}  # only the finished run's own file
        kept = set(db.session.scalars(select(TaskFile.run_id)))
        assert kept == {"imported", "exporting"}
        for run_id in ("retry", "exporting"):
            db.session.get(TaskRun, run_id).state = "succeeded"
        db.session.commit()
        assert remove_expired_files() == {"removed": 2}
