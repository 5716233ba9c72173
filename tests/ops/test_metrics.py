"""GET /metrics: guarded by METRICS_TOKEN; HTTP by route template; outbox, job and
queue figures read at scrape time."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from api import clock
from api.extensions import db
from api.models import Notification, TaskRun
from api.notify import notify
from tests.helpers import bearer, is_problem

TOKEN = "metrics-token-for-the-tests"


def samples(text: str) -> dict:
    """{(sample name, frozenset(labels)): value} of a scrape."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(scrape: dict, metric: str, **labels) -> float:
    return scrape.get((metric, frozenset(labels.items())), 0.0)


@pytest.fixture
def metrics_token(app):
    app.config["METRICS_TOKEN"] = TOKEN
    yield TOKEN
    app.config["METRICS_TOKEN"] = None


def scrape(client) -> dict:
    response = client.get("/metrics", headers=bearer(TOKEN))
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return samples(response.get_data(as_text=True))


def test_absent_without_a_token_configured(client):
    assert is_problem(client.get("/metrics"), 404)
    assert is_problem(client.get("/metrics", headers=bearer("anything")), 404)


@pytest.mark.parametrize("headers", [{}, bearer("wrong"), {"Authorization": f"Basic {TOKEN}"},
                                     bearer(TOKEN + "x")])
def test_wrong_or_missing_token_is_401(client, metrics_token, headers):
    assert is_problem(client.get("/metrics", headers=headers), 401)


def test_http_requests_by_route_template(client, metrics_token, make_book):
    book_id = make_book()
    before = scrape(client)
    for _ in range(3):
        client.get(f"/books/{book_id}")
    client.get("/books/987654")
    client.get("/definitely/not/a/route")
    after = scrape(client)
    route = "/books/<int:book_id>"
    name = "library_http_requests_total"
    assert value(after, name, method="GET", route=route, status="200") - \
        value(before, name, method="GET", route=route, status="200") == 3
    assert value(after, name, method="GET", route=route, status="404") - \
        value(before, name, method="GET", route=route, status="404") == 1
    assert value(after, name, method="GET", route="<unmatched>", status="404") - \
        value(before, name, method="GET", route="<unmatched>", status="404") == 1
    count = "library_http_request_duration_seconds_count"
    assert (value(after, count, method="GET", route=route)
            - value(before, count, method="GET", route=route)) == 4
    assert not any(f"/books/{book_id}" in dict(labels).get("route", "") for _, labels in after)


def test_outbox_backlog_and_oldest_pending_age(app, client, metrics_token):
    with app.app_context():
        for i in range(3):
            notify(db.session, "welcome", recipient=f"r{i}@example.com", dedupe_key=f"m:{i}",
                   user=SimpleNamespace(username=f"r{i}"), max_loans=5)
        db.session.commit()
        db.session.execute(update(Notification).where(Notification.dedupe_key == "m:0")
                           .values(state="failed"))
        db.session.commit()
    clock.advance(timedelta(minutes=10))
    result = scrape(client)
    assert value(result, "library_outbox_messages", state="pending") == 2
    assert value(result, "library_outbox_messages", state="failed") == 1
    assert value(result, "library_outbox_messages", state="sending") == 0
    assert 599 <= value(result, "library_outbox_oldest_pending_age_seconds") <= 601


def test_job_runs_by_name_and_state_with_durations(app, client, metrics_token):
    start = clock.utcnow()
    with app.app_context():
        db.session.add_all([
            TaskRun(id="a", name="overdue-check", state="succeeded", started_at=start,
                    finished_at=start + timedelta(seconds=4)),
            TaskRun(id="b", name="overdue-check", state="succeeded", started_at=start,
                    finished_at=start + timedelta(seconds=6)),
            TaskRun(id="c", name="expire-holds", state="failed", started_at=start,
                    finished_at=start + timedelta(seconds=1)),
            TaskRun(id="d", name="expire-holds", state="queued"),
        ])
        db.session.commit()
    result = scrape(client)
    assert value(result, "library_job_runs", name="overdue-check", state="succeeded") == 2
    assert value(result, "library_job_runs", name="expire-holds", state="failed") == 1
    assert value(result, "library_job_runs", name="expire-holds", state="queued") == 1
    # A gauge: `queued` goes down when the run starts, which a counter must never do.
    text = client.get("/metrics", headers=bearer(TOKEN)).get_data(as_text=True)
    assert "# TYPE library_job_runs gauge" in text
    assert value(result, "library_job_duration_seconds_count", name="overdue-check", state="succeeded") == 2
    assert value(result, "library_job_duration_seconds_sum", name="overdue-check",
                 state="succeeded") == pytest.approx(10, abs=0.01)
    assert value(result, "library_metrics_collector_up", collector="jobs") == 1


def test_celery_queue_lengths_from_the_broker(app, client, metrics_token):
    import redis

    broker = redis.Redis.from_url(app.extensions["celery"].conf.broker_url)
    broker.rpush("mail", "m1", "m2")
    broker.rpush("jobs", "j1")
    broker.rpush("mail\x06\x169", "urgent")  # kombu's key for priority 9
    result = scrape(client)
    assert value(result, "library_celery_queue_length", queue="mail") == 3
    assert value(result, "library_celery_queue_length", queue="jobs") == 1
    assert value(result, "library_celery_queue_length", queue="celery") == 0
