"""Real workers and a real SMTP server for the background-work tests.

The Celery broker lives in its own Redis database (the session Redis DB is flushed
before every test, which would also wipe kombu's queue bindings under a running
worker). `worker_app` is a second Flask app on the same database whose Celery uses
that broker; `celery_worker` runs a real worker for it in a thread, and `inbox` is
an aiosmtpd server on a free loopback port that records what it accepts.
"""

import asyncio
import threading
import time
from email import message_from_bytes

import pytest
import redis
from aiosmtpd.controller import Controller
from celery.contrib.testing.worker import start_worker

from api import create_app
from api.celery_setup import celery_settings
from api.extensions import db
from scripts.embedded_redis import free_port


def wait_for(condition, timeout: float = 30.0, message: str = "condition"):
    """Poll `condition` until it returns something truthy; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.05)  # polling interval, not synchronisation


class Inbox:
    """aiosmtpd handler: records accepted messages; can refuse or stall on request."""

    def __init__(self):
        self.messages = []
        self.replies: list[str] = []  # replies to the next DATA commands, e.g. "451 ..."
        self.block_on: int | None = None  # stall when this many messages have arrived
        # Close each connection after its message, with no 421 (a server's cap of one
        # message per connection, or an idle timeout): the client learns it at its next command.
        self.one_per_connection = False
        self.blocked = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        with self.lock:
            if self.replies:
                return self.replies.pop(0)
            self.messages.append(message_from_bytes(envelope.content))
            stall = self.block_on is not None and len(self.messages) == self.block_on
        if self.one_per_connection:
            # Runs once this reply is written: a transport flushes what it holds, then closes.
            asyncio.get_running_loop().call_soon(server.transport.close)
        if stall:
            # The message has arrived, the worker awaits the reply: the worst moment
            # for it to die (the test kills it now).
            self.blocked.set()
            await asyncio.to_thread(self.release.wait, 60)
        return "250 OK"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [m["Message-ID"] for m in self.messages]


@pytest.fixture(scope="session")
def broker_url(redis_url):
    base, _, number = redis_url.rpartition("/")
    number = int(number or 0) if number.isdigit() else 0
    return f"{base}/{number - 1 if number >= 1 else 1}"


@pytest.fixture(scope="session")
def worker_app(app, redis_url, database_url, broker_url):
    # A worker stops once its blocking read of the queue returns: within 0.1 s, not
    # kombu's default second, so each test's worker teardown takes no longer.
    transport = {**celery_settings(app.config)["broker_transport_options"], "polling_interval": 0.1}
    worker_app = create_app(
        "testing", REDIS_URL=redis_url, SQLALCHEMY_DATABASE_URI=database_url,
        CELERY={"broker_url": broker_url, "result_backend": broker_url,
                "broker_transport_options": transport},
        MAIL_RETRY_BASE_SECONDS=0.05, MAIL_RETRY_MAX_SECONDS=0.2, MAIL_MAX_ATTEMPTS=3,
        MAIL_TIMEOUT=10.0, RATELIMIT_ENABLED=False,
    )
    yield worker_app
    with worker_app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def dead_broker_app(app, redis_url, database_url):
    """An app whose broker URL points at a closed port. Request it before a worker
    fixture: creating a Celery app makes it the process default, and the embedded
    worker must be started (and become the default) after it."""
    broker = f"redis://127.0.0.1:{free_port()}/0"
    return create_app("testing", REDIS_URL=redis_url, SQLALCHEMY_DATABASE_URI=database_url,
                      CELERY={"broker_url": broker, "result_backend": broker})


@pytest.fixture
def inbox(worker_app):
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    saved = {k: worker_app.config[k]
             for k in ("MAIL_SERVER", "MAIL_PORT", "JOB_BATCH_SIZE", "BULK_BATCH_SIZE")}
    worker_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    yield handler
    handler.release.set()
    controller.stop()
    worker_app.config.update(saved)


@pytest.fixture
def clean_broker(broker_url):
    redis.Redis.from_url(broker_url).flushdb()


def run_worker(worker_app, **kwargs):
    return start_worker(worker_app.extensions["celery"], perform_ping_check=False,
                        loglevel="WARNING", shutdown_timeout=30, **kwargs)


@pytest.fixture
def celery_worker(worker_app, clean_broker, inbox):
    with run_worker(worker_app, pool="solo") as worker:
        yield worker


@pytest.fixture
def threaded_worker(worker_app, clean_broker, inbox):
    """Two tasks at once in one worker: the concurrency the jobs must survive."""
    with run_worker(worker_app, pool="threads", concurrency=2) as worker:
        yield worker
