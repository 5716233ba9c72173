"""Metrics across gunicorn worker processes: what a scrape reports is what all the
workers served, the directory is wiped at start, and a dead worker's counts stay."""

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import make_url

from api.embedded_redis import free_port
from tests.ops.test_metrics import samples, value
from tests.worker.fixtures import wait_for

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "gunicorn-metrics-token"


def get(url: str, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our loopback server
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


# A cheap public Flask route (/health is answered before Flask, by api.health.probe).
PROBE = "/calendar"


def served_by(directory: Path) -> set[int]:
    """Worker pids that have written a counter file (a file appears at a first request)."""
    return {int(m.group(1)) for p in directory.glob("counter_*.db")
            if (m := re.match(r"counter_(\d+)\.db$", p.name))}


@pytest.fixture
def gunicorn(app, redis_url, database_url, tmp_path):
    prom = tmp_path / "prometheus"
    prom.mkdir()
    stale = prom / "counter_1.db"
    stale.write_bytes(b"left over from an earlier run")
    port = free_port()
    url = make_url(database_url).render_as_string(hide_password=False)
    env = {**os.environ, "APP_CONFIG": "testing", "DATABASE_URL": url, "REDIS_URL": redis_url,
           "METRICS_TOKEN": TOKEN, "RATELIMIT_ENABLED": "false", "LOG_FORMAT": "json",
           "PROMETHEUS_MULTIPROC_DIR": str(prom)}
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--workers", "2",
         "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        # Readiness through a route the test does not count.
        wait_for(lambda: proc.poll() is not None or get(base + "/apispec.json")[0] == 200,
                 timeout=60, message="gunicorn to answer")
        assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()
        assert not stale.exists()
        yield base, prom, proc
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def health_count(base: str) -> float:
    status, body = get(base + "/metrics", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, body
    return value(samples(body), "library_http_requests_total", method="GET", route=PROBE,
                 status="200")


def test_counts_add_up_across_two_workers(gunicorn, tmp_path):
    base, prom, proc = gunicorn
    sent = 0
    with ThreadPoolExecutor(4) as pool:
        # Batches of concurrent requests until both workers have served some (a sync
        # worker busy with one request leaves the next connection to the other).
        def batch():
            nonlocal sent
            statuses = list(pool.map(lambda _: get(base + PROBE)[0], range(40)))
            assert statuses == [200] * 40
            sent += 40
            return len(served_by(prom)) >= 2

        wait_for(batch, timeout=60, message="requests on both workers")
    assert health_count(base) == sent

    # A worker that dies keeps its counts (its file stays); the others add to them.
    os.kill(min(served_by(prom)), signal.SIGKILL)
    assert [get(base + PROBE)[0] for _ in range(10)] == [200] * 10
    assert health_count(base) == sent + 10
    logs = (tmp_path / "gunicorn.log").read_text()
    assert all(line.startswith("{") for line in logs.splitlines() if line.strip()), logs[:2000]


def test_one_access_line_per_request_each_with_its_request_id(gunicorn, tmp_path):
    """gunicorn writes no access line of its own (it would carry the query string and
    no request id); the app's line, one per request, names the request."""
    base, _, _ = gunicorn
    ids = [f"access-line-{n}" for n in range(5)]
    for request_id in ids:
        assert get(base + "/books?q=query-string", {"X-Request-ID": request_id})[0] == 200

    def access_ids() -> list:
        lines = [json.loads(line) for line in (tmp_path / "gunicorn.log").read_text().splitlines()
                 if line.startswith("{")]
        return [r["request_id"] for r in lines if r["logger"] == "library.access"
                and r["request_id"].startswith("access-line-")]

    # The line is written once the response is sent (api/after_response.py): the last
    # one may land just after the client has its answer.
    wait_for(lambda: len(access_ids()) >= len(ids), message="the access lines")
    assert access_ids() == ids
    lines = [json.loads(line) for line in (tmp_path / "gunicorn.log").read_text().splitlines()
             if line.startswith("{")]
    assert not [r for r in lines if r["logger"] == "gunicorn.access"]
    assert "query-string" not in (tmp_path / "gunicorn.log").read_text()
