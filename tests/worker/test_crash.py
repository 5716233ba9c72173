"""A worker process killed with SIGKILL mid-batch: after a restart every pending
message is sent and none twice; the one caught in flight is reported, not resent."""

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.worker.fixtures import wait_for
from tests.worker.helpers import add_notices, kick, outbox, settled
from worker.mail import OUTCOME_UNKNOWN
from worker.smtp import message_id

pytestmark = pytest.mark.worker

ROOT = Path(__file__).resolve().parents[2]


def start_worker_process(worker_app, broker_url, database_url, inbox_port, log_path, *,
                         wait_ready: bool = True) -> subprocess.Popen:
    env = {**os.environ, "APP_CONFIG": "testing", "DATABASE_URL": database_url,
           "TEST_DATABASE_URL": database_url, "REDIS_URL": broker_url,
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(inbox_port),
           "MAIL_LEASE_SECONDS": "1", "MAIL_RETRY_BASE_SECONDS": "0.05", "MAIL_BATCH_SIZE": "50"}
    log = open(log_path, "ab")  # noqa: SIM115 - the child owns it for its lifetime
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_app", "worker", "--pool", "solo",
         "--hostname", f"crash-{os.getpid()}@%h", "--without-mingle", "--without-gossip",
         "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if not wait_ready:
        return proc
    # A solo worker busy with a task cannot answer pings, so only an idle one is awaited.
    control = worker_app.extensions["celery"].control
    wait_for(lambda: proc.poll() is not None or control.ping(timeout=0.5, limit=1),
             timeout=60, message="the worker process to answer a ping")
    assert proc.poll() is None, log_path.read_text()
    return proc


def test_sigkill_mid_batch_loses_nothing_and_sends_nothing_twice(
        worker_app, clean_broker, inbox, broker_url, database_url, tmp_path):
    inbox.block_on = 4  # the 4th message stalls until the worker is dead
    ids = add_notices(worker_app, 10, prefix="crash")  # queued before any worker runs
    log_path = tmp_path / "worker.log"
    port = worker_app.config["MAIL_PORT"]

    proc = start_worker_process(worker_app, broker_url, database_url, port, log_path, wait_ready=False)
    try:
        assert inbox.blocked.wait(60), log_path.read_text()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    inbox.release.set()
    states = Counter(row.state for row in outbox(worker_app).values())
    assert states == {"sent": 3, "sending": 1, "pending": 6}

    proc = start_worker_process(worker_app, broker_url, database_url, port, log_path)
    try:
        kick(worker_app)
        wait_for(lambda: settled(worker_app), timeout=60, message="the outbox to settle")
    finally:
        proc.terminate()
        proc.wait(30)

    rows = outbox(worker_app)
    sender = worker_app.config["MAIL_DEFAULT_SENDER"]
    received = Counter(inbox.message_ids())
    assert set(received.values()) == {1}, "a message was delivered twice"
    in_flight = [row for row in rows.values() if row.state == "failed"]
    assert len(in_flight) == 1 and in_flight[0].last_error == OUTCOME_UNKNOWN
    assert sum(row.state == "sent" for row in rows.values()) == 9
    for row_id in ids:
        mid = message_id(row_id, rows[row_id].dedupe_key, sender)
        assert received[mid] == 1  # every message arrived once, the in-flight one included
