"""One scheduler: two beat processes at once fire each due time once, and the
second takes over when the first stops, without repeating a due time."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import make_url

from tests.worker.fixtures import wait_for

ROOT = Path(__file__).resolve().parents[2]

# The beat processes import tests.ops.beat_app (and with it celery_app, which needs
# REDIS_URL); the test only needs the key, so it names it rather than importing it.
FIRED_KEY = "beat-test:fired"


def start_beat(redis_url, database_url, workdir: Path, name: str, **extra) -> subprocess.Popen:
    env = {**os.environ, **extra, "APP_CONFIG": "testing", "REDIS_URL": redis_url,
           "DATABASE_URL": make_url(database_url).render_as_string(hide_password=False),
           "LOG_FORMAT": "json", "BEAT_MAX_INTERVAL": "1", "BEAT_LOCK_TIMEOUT": "5"}
    out = open(workdir / f"{name}.out", "wb")  # noqa: SIM115 - the child owns them
    err = open(workdir / f"{name}.err", "wb")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.ops.beat_app", "beat", "--loglevel", "INFO",
         "--schedule", str(workdir / f"{name}-unused-schedule")],
        cwd=ROOT, env=env, stdout=out, stderr=err)


def firings(redis_client) -> list[dict]:
    return [json.loads(item) for item in redis_client.lrange(FIRED_KEY, 0, -1)]


@pytest.fixture
def start_beats(redis_url, database_url, tmp_path):
    procs = []

    def start(**extra):
        procs.extend(start_beat(redis_url, database_url, tmp_path, name, **extra) for name in ("a", "b"))
        return procs

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        proc.wait(30)


@pytest.fixture
def beats(start_beats):
    return start_beats()


def test_two_beats_fire_each_due_time_once(beats, redis_client, tmp_path):
    wait_for(lambda: len(firings(redis_client)) >= 3 or any(p.poll() is not None for p in beats),
             timeout=40, message="three firings")
    assert all(p.poll() is None for p in beats), (tmp_path / "a.err").read_text()
    fired = firings(redis_client)
    [holder] = {f["pid"] for f in fired}  # only one of the two running beats sends anything
    standby = next(p for p in beats if p.pid != holder)

    # A clean stop releases the lock; the other beat takes over where it left off.
    holder_proc = next(p for p in beats if p.pid == holder)
    holder_proc.terminate()
    holder_proc.wait(30)
    before = len(fired)
    wait_for(lambda: sum(f["pid"] == standby.pid for f in firings(redis_client)) >= 2
             or standby.poll() is not None, timeout=90, message="the standby beat to take over")
    fired = firings(redis_client)
    assert {f["pid"] for f in fired[before:]} == {standby.pid}
    dues = [f["after"] for f in fired]
    assert len(dues) == len(set(dues)), f"a due time fired twice: {dues}"

    for name in ("a", "b"):  # beat logs through api.logs too: JSON lines only
        lines = [line for line in (tmp_path / f"{name}.err").read_text().splitlines() if line.strip()]
        assert lines and all(json.loads(line)["logger"] for line in lines)


def test_without_the_lock_both_would_fire(start_beats, redis_client):
    """The control: the observation above does see a second scheduler when there is one."""
    procs = start_beats(BEAT_TEST_WITHOUT_LOCK="1")
    wait_for(lambda: {f["pid"] for f in firings(redis_client)} == {p.pid for p in procs}
             or any(p.poll() is not None for p in procs), timeout=40, message="both beats firing")
    assert all(p.poll() is None for p in procs)
