"""Request ids: kept or made at the edge, on every response, into the task, the outbox
row and the delivered email."""

import pytest
from celery.signals import task_prerun
from sqlalchemy import select

from api import request_id
from api.extensions import db
from api.models import Notification
from tests.worker.fixtures import wait_for
from tests.worker.helpers import settled


@pytest.mark.parametrize("value", ["abc", "A.b-c_9", "x" * 128, "0"])
def test_valid_incoming_id_is_kept(client, value):
    response = client.get("/health", headers={"X-Request-ID": value})
    assert response.headers["X-Request-ID"] == value


@pytest.mark.parametrize("value", ["", "x" * 129, "has space", "new\\nline", "é", "a/b", "a;b"])
def test_invalid_incoming_id_is_replaced(client, value):
    response = client.get("/health", headers={"X-Request-ID": value})
    made = response.headers["X-Request-ID"]
    assert made != value and request_id.VALID.match(made)


def test_every_response_has_one_including_errors(client, member):
    responses = [
        client.get("/no/such/route"),                                  # 404 from routing
        client.get("/books/999999"),                                   # 404 from a view
        client.delete("/health"),                                      # 405
        client.post("/users/login", data="x", content_type="text/plain"),  # 415
        client.post("/users/login", json={"email": "nobody@example.com", "password": "x" * 9}),  # 401
        client.get("/loans", headers=member.headers),                  # 200, authenticated
    ]
    ids = [r.headers.get("X-Request-ID") for r in responses]
    assert all(ids) and len(set(ids)) == len(ids)
    assert [r.status_code for r in responses][:4] == [404, 404, 405, 415]


def test_context_is_cleared_after_the_request(client):
    client.get("/health", headers={"X-Request-ID": "gone-after"})
    assert request_id.current() is None


def _register(client, name: str, **headers):
    response = client.post("/users/register", headers=headers, json={
        "username": name, "email": f"{name}@example.com", "password": "a long password"})
    assert response.status_code == 201, response.get_json()
    return response


@pytest.mark.worker
@pytest.mark.parametrize("given", ["trace-me.42", None])
def test_registration_id_reaches_the_welcome_email(worker_app, celery_worker, inbox, given):
    seen_in_tasks = []

    def record(task=None, **_kwargs):
        seen_in_tasks.append((task.name, request_id.current()))

    task_prerun.connect(record, weak=False)  # after ours, so it sees the restored id
    try:
        headers = {"X-Request-ID": given} if given else {}
        response = _register(worker_app.test_client(), "tracy", **headers)
        rid = response.headers["X-Request-ID"]
        if given:
            assert rid == given
        [message] = wait_for(lambda: list(inbox.messages), message="the welcome email")
        wait_for(lambda: settled(worker_app), message="the outbox to record it")
    finally:
        task_prerun.disconnect(record)

    assert message["To"] == "tracy@example.com"
    assert message["X-Request-ID"] == rid
    with worker_app.app_context():
        row = db.session.scalars(select(Notification)).one()
        assert (row.kind, row.request_id, row.state) == ("welcome", rid, "sent")
    # The delivery task the request enqueued ran under the request's id.
    assert ("worker.mail.send_pending", rid) in seen_in_tasks


def test_a_task_without_a_request_runs_under_its_own_id(app):
    class Request:
        request_id = None
        headers = None

    class Task:
        request = Request()

    request_id._restore(task_id="task-123", task=Task())
    try:
        assert request_id.current() == "task-123"
    finally:
        request_id._forget(task_id="task-123")
    assert request_id.current() is None


@pytest.mark.worker
def test_an_admin_started_job_carries_the_id_to_its_notices(worker_app, celery_worker, inbox, make_book):
    from datetime import timedelta

    from api import clock
    from api.models import Loan
    from tests.helpers import create_user, login

    reader = create_user(worker_app, "late")
    now = clock.utcnow()
    with worker_app.app_context():
        db.session.add(Loan(user_id=reader.id, book_id=make_book(), borrowed_at=now - timedelta(days=20),
                            due_at=now - timedelta(days=2)))
        db.session.commit()
    client = worker_app.test_client()
    boss = login(client, create_user(worker_app, "boss", role="admin"))
    response = client.post("/admin/tasks/overdue-check", headers={**boss.headers, "X-Request-ID": "job.7"})
    assert response.status_code == 202 and response.headers["X-Request-ID"] == "job.7"
    [message] = wait_for(lambda: list(inbox.messages), message="the overdue notice")
    assert message["X-Request-ID"] == "job.7"
    with worker_app.app_context():
        row = db.session.scalars(select(Notification)).one()
        assert (row.kind, row.request_id) == ("overdue", "job.7")  # a bulk insert, via the default
