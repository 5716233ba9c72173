"""Mail and jobs travel in separate queues: a long import never delays an email."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from api.books.isbn import isbn13_from_number
from api.celery_setup import CLEANUP_TASK, JOB_TASKS, SEND_TASK
from api.extensions import db
from tests.admin.jobs import catalog_csv, status, upload, wait_finished
from tests.worker.fixtures import wait_for

pytestmark = pytest.mark.worker
ROOT = Path(__file__).resolve().parents[2]


def test_tasks_are_routed_to_their_queue_and_a_plain_worker_consumes_both(worker_app, celery_worker):
    celery = worker_app.extensions["celery"]
    route = celery.amqp.router.route
    for task, queue in [(SEND_TASK, "mail"), *((t, "jobs") for t in [*JOB_TASKS.values(), CLEANUP_TASK])]:
        options = route({}, task)
        # Its own exchange and key too: with shared ones a message reaches every queue.
        assert options["queue"].name == queue, task
        assert (options["queue"].exchange.name, options["queue"].routing_key) == (queue, queue), task
    # The embedded worker, started like `celery worker` without -Q, listens on both.
    consuming = {queue.name for queue in celery_worker.consumer.task_consumer.queues}
    assert consuming == {"mail", "jobs"}


def mail_worker(broker_url, database_url, inbox_port, log_path) -> subprocess.Popen:
    env = {**os.environ, "APP_CONFIG": "testing", "DATABASE_URL": database_url,
           "REDIS_URL": broker_url, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(inbox_port)}
    log = open(log_path, "ab")  # noqa: SIM115 - the child owns it for its lifetime
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_app", "worker", "-Q", "mail", "--pool", "solo",
         "--hostname", f"mail-{os.getpid()}@%h", "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def waiting_on_locks(conn) -> int:
    count = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                              " AND wait_event_type = 'Lock'")).scalar()
    conn.rollback()
    return count


@pytest.mark.postgres
def test_a_password_reset_is_delivered_while_an_import_holds_the_jobs_worker(
        worker_app, admin, member, celery_worker, inbox, broker_url, database_url, tmp_path):
    worker_app.config["IMPORT_BATCH_SIZE"] = 5
    client = worker_app.test_client()
    with worker_app.app_context():
        engine = db.engine
    # The gate: an uncommitted book with the ISBN of the import's 8th row. The import's
    # second batch waits on it (a unique-index conflict waits for the other
    # transaction), holding the only jobs worker, for as long as the test wants.
    gate = engine.connect()
    proc = mail_worker(broker_url, database_url, worker_app.config["MAIL_PORT"], tmp_path / "mail.log")
    try:
        gate.execute(text("INSERT INTO books (title, author, isbn, published_year, copies_total, "
                          "copies_available, created_at, updated_at) VALUES ('Gate', 'Gate', :isbn, "
                          "2000, 1, 1, now(), now())"), {"isbn": isbn13_from_number(500_008)})
        run_id = upload(client, admin, catalog_csv(20)).get_json()["task_id"]
        with engine.connect() as probe:
            wait_for(lambda: waiting_on_locks(probe) >= 1, message="the import to wait on the gate")
        assert status(client, admin, run_id)["state"] == "running"

        assert client.post("/users/password-reset", json={"email": member.email}).status_code == 202
        wait_for(lambda: any(m["To"] == member.email for m in inbox.messages), timeout=60,
                 message="the reset email (is a mail worker consuming `mail`?)")
        assert status(client, admin, run_id)["state"] == "running"  # still held
    finally:
        gate.rollback()
        gate.close()
        proc.terminate()
        proc.wait(30)
        worker_app.config["IMPORT_BATCH_SIZE"] = 500
    run = wait_finished(client, admin, run_id)
    assert run["state"] == "succeeded" and run["result"]["created"] == 20
