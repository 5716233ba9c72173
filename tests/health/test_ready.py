"""GET /health (sync, cheap) and GET /health/ready (async, concurrent checks)."""

from datetime import timedelta

import pytest
import redis

from api import clock
from api.health.checks import CHECKS
from api.worker_heartbeat import KEY, STALE_AFTER_BEATS, beat
from tests.worker.fixtures import run_worker


def test_liveness_is_cheap_and_ok(client):
    response = client.get("/health")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


@pytest.fixture
def patient(worker_app, monkeypatch):
    """Deadlines, not timings: on a loaded machine a check may take longer than the
    production two seconds."""
    monkeypatch.setitem(worker_app.config, "HEALTH_CHECK_TIMEOUT", 15.0)
    return worker_app.config


@pytest.mark.worker
def test_ready_when_database_redis_and_a_worker_answer(worker_app, celery_worker, patient):
    response = worker_app.test_client().get("/health/ready")
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == set(CHECKS)
    for check in body["checks"].values():
        assert check["ok"] is True and check["error"] is None and check["latency_ms"] >= 0


def test_a_stopped_worker_makes_it_not_ready(worker_app, clean_broker, patient, redis_url):
    client = worker_app.test_client()
    heartbeats = redis.Redis.from_url(redis_url, decode_responses=True)
    with run_worker(worker_app, pool="solo") as worker:
        ready = client.get("/health/ready")
        assert ready.status_code == 200, ready.get_json()
        for queue in ("mail", "jobs"):  # a worker without -Q consumes both
            assert heartbeats.zrange(KEY.format(queue), 0, -1) == [worker.hostname]
    response = client.get("/health/ready")  # at once: a worker that stops says so
    body = response.get_json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["worker"]["ok"] is False
    assert "no worker consumes mail or jobs" in body["checks"]["worker"]["error"]
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]


def test_a_queue_without_a_worker_is_not_ready_and_named(app, client):
    beat(app.extensions["redis"], "jobs-only@host", ["jobs"], app.config["WORKER_HEARTBEAT_SECONDS"])
    response = client.get("/health/ready")
    error = response.get_json()["checks"]["worker"]["error"]
    assert response.status_code == 503
    assert "no worker consumes mail:" in error and "jobs" not in error.split(":")[0]
    beat(app.extensions["redis"], "mail-only@host", ["mail"], app.config["WORKER_HEARTBEAT_SECONDS"])
    assert client.get("/health/ready").status_code == 200


def test_a_worker_that_went_quiet_drops_out(app, client):
    interval = app.config["WORKER_HEARTBEAT_SECONDS"]
    beat(app.extensions["redis"], "killed@host", ["mail", "jobs"], interval)
    clock.advance(timedelta(seconds=STALE_AFTER_BEATS * interval - 1))
    assert client.get("/health/ready").status_code == 200  # late, but within three beats
    clock.advance(timedelta(seconds=2))
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert "no worker consumes mail or jobs" in response.get_json()["checks"]["worker"]["error"]


def test_not_ready_when_redis_and_broker_are_down(app, redis_url, database_url):
    from api import create_app
    from scripts.embedded_redis import free_port

    dead = f"redis://127.0.0.1:{free_port()}/0"
    broken = create_app("testing", REDIS_URL=dead, SQLALCHEMY_DATABASE_URI=database_url,
                        CELERY={"broker_url": dead, "result_backend": dead})
    body = broken.test_client().get("/health/ready").get_json()
    assert body["checks"]["redis"]["ok"] is False and body["checks"]["worker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_a_hung_check_does_not_hold_the_answer(client, app, monkeypatch):
    # The database check hangs until the test releases it, which it does only once the
    # answer is in: an answer that waited for the check would wait for ever (here: until
    # the check gives up on its own and reports that nobody released it).
    import threading

    from api.health import checks

    release, finished, released = threading.Event(), threading.Event(), []

    def hung(_app):
        released.append(release.wait(timeout=60))
        finished.set()

    monkeypatch.setitem(checks.CHECKS, "database", hung)
    monkeypatch.setitem(app.config, "HEALTH_CHECK_TIMEOUT", 0.5)
    body = client.get("/health/ready").get_json()
    release.set()
    assert finished.wait(timeout=60)
    assert released == [True], "the answer waited for the hung check"
    assert body["checks"]["database"] == {**body["checks"]["database"], "ok": False,
                                          "error": "timed out after 0.5s"}
