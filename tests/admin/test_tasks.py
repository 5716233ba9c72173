"""/admin task control and outbox views, against a real worker."""

import pytest
from sqlalchemy import func, select, update

from api.extensions import db
from api.models import Notification, TaskRun
from tests.helpers import is_problem
from tests.worker.fixtures import wait_for
from tests.worker.helpers import add_notices


def test_members_and_anonymous_are_refused(worker_app, member):
    client = worker_app.test_client()
    for method, url in [("post", "/admin/tasks/overdue-check"), ("get", "/admin/tasks"),
                        ("get", "/admin/tasks/abc"), ("get", "/admin/schedule"),
                        ("get", "/admin/notifications")]:
        assert is_problem(getattr(client, method)(url, headers=member.headers), 403), url
        assert is_problem(getattr(client, method)(url), 401), url


def test_unknown_task_name_and_id_are_404(worker_app, admin):
    client = worker_app.test_client()
    assert is_problem(client.post("/admin/tasks/reindex-everything", headers=admin.headers), 404)
    assert is_problem(client.get("/admin/tasks/no-such-id", headers=admin.headers), 404)
    assert is_problem(client.get("/admin/tasks/" + "x" * 300, headers=admin.headers), 404)


@pytest.mark.worker
def test_task_runs_and_reports_progress(worker_app, celery_worker, admin, make_book):
    from tests.worker.test_jobs import add_loans

    add_loans(worker_app, make_book, [-1, -2])
    client = worker_app.test_client()
    response = client.post("/admin/tasks/overdue-check", headers=admin.headers)
    assert response.status_code == 202
    body = response.get_json()
    assert body["name"] == "overdue-check" and body["state"] == "queued"
    assert response.headers["Location"] == body["status_url"] == f"/admin/tasks/{body['task_id']}"

    def finished():
        status = client.get(body["status_url"], headers=admin.headers).get_json()
        return status if status["state"] in ("succeeded", "failed") else None

    status = wait_for(finished, message="the task to finish")
    assert status["state"] == "succeeded", status
    assert status["progress"] == {"current": 2, "total": 2}
    assert status["result"] == {"scanned": 2, "queued": 2}
    assert status["requested_by"] == admin.id and status["error"] is None
    assert status["finished_at"] >= status["requested_at"]

    listing = client.get("/admin/tasks?per_page=1", headers=admin.headers)
    assert listing.status_code == 200 and "Link" in listing.headers
    assert [item["task_id"] for item in listing.get_json()["items"]] == [body["task_id"]]
    assert listing.get_json()["meta"]["total"] == 1


def test_broker_down_is_503_and_records_nothing(dead_broker_app, admin):
    response = dead_broker_app.test_client().post("/admin/tasks/expire-holds", headers=admin.headers)
    assert is_problem(response, 503)
    assert "Retry-After" in response.headers
    with dead_broker_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TaskRun)) == 0


def test_schedule_lists_the_beat_entries(worker_app, admin):
    response = worker_app.test_client().get("/admin/schedule", headers=admin.headers)
    assert response.status_code == 200
    body = response.get_json()
    entries = {item["name"]: item for item in body["items"]}
    assert body["timezone"] == "UTC"
    assert set(entries) == {"overdue-check", "due-soon-reminders", "expire-holds", "fines-accrual",
                            "outbox-sweep", "task-files-cleanup"}
    assert entries["overdue-check"]["crontab"] == worker_app.config["OVERDUE_CHECK_CRON"]
    assert entries["outbox-sweep"]["task"] == "worker.mail.send_pending"


def test_notifications_filter_by_state(worker_app, admin):
    add_notices(worker_app, 3)  # no worker: they stay pending
    client = worker_app.test_client()
    pending = client.get("/admin/notifications?state=pending&per_page=2", headers=admin.headers)
    assert pending.status_code == 200
    body = pending.get_json()
    assert body["meta"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2, "total_exact": True}
    assert {"id", "kind", "recipient", "state", "attempts", "last_error"} <= body["items"][0].keys()
    assert "body" not in body["items"][0]  # may carry a password-reset token
    sent = client.get("/admin/notifications?state=sent", headers=admin.headers).get_json()
    assert sent["items"] == []
    assert is_problem(client.get("/admin/notifications?state=lost", headers=admin.headers), 400)


def test_a_row_in_flight_shows_as_pending(worker_app, admin):
    # SPEC's states are pending, sent and failed; `sending` is the worker's own.
    first, _ = add_notices(worker_app, 2)
    with worker_app.app_context():
        db.session.execute(update(Notification).where(Notification.id == first).values(state="sending"))
        db.session.commit()
    client = worker_app.test_client()
    pending = client.get("/admin/notifications?state=pending", headers=admin.headers).get_json()
    assert [(item["id"], item["state"]) for item in pending["items"]][-1] == (first, "pending")
    assert pending["meta"]["total"] == 2
    assert is_problem(client.get("/admin/notifications?state=sending", headers=admin.headers), 400)
