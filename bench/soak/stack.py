"""The soak run's private stack on loopback: redis-server, a throw-away database,
migrations, an admin, the SMTP sink, gunicorn (2 sync workers) and a Celery worker.

Everything is created by this run and torn down by `stop()`, which is safe to call
after a partial start: nothing here touches the developer's var/library.db, their
embedded Redis or another run's database.
"""

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg

from api.embedded_redis import free_port, start_redis_server
from bench.harness import Server
from bench.soak.sink import Sink

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
ADMIN = {"email": "admin@soak.example.com", "username": "soakadmin",
         "password": secrets.token_urlsafe(16)}
SENDER = "Library <library@soak.example.com>"


class Stack:
    def __init__(self, limits: dict, sqlite: bool = False, refuse_every: int = 0):
        self.limits, self.force_sqlite, self.refuse_every = limits, sqlite, refuse_every
        self.workdir = ROOT / "var" / "soak" / f"run-{os.getpid()}"
        self.db_name = f"soak_{os.getpid()}"
        self.database_url = None
        self.redis_proc = self.sink = self.web = self.worker = None
        self.secret = secrets.token_urlsafe(48)

    @property
    def postgres(self) -> bool:
        return bool(self.database_url and self.database_url.startswith("postgresql"))

    @property
    def dsn(self) -> str:
        """The URL as psycopg (libpq) or sqlite3 take it."""
        if self.postgres:
            return self.database_url.replace("+psycopg", "")
        return self.database_url.removeprefix("sqlite:///")

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RATELIMIT_", "MAIL_"))}
        env.update(self.limits)
        env.update({
            "APP_CONFIG": "development", "SECRET_KEY": self.secret, "PYTHONPATH": str(ROOT),
            "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url,
            "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(self.sink.port),
            "MAIL_DEFAULT_SENDER": SENDER, "MAIL_SINK_DIR": str(self.workdir / "mail"),
            # Short retries and lease: a transient SMTP failure must still settle inside
            # the drain deadline rather than at the default 30 s-and-doubling backoff.
            "MAIL_RETRY_BASE_SECONDS": "1", "MAIL_RETRY_MAX_SECONDS": "4",
            "MAIL_LEASE_SECONDS": "30", "MAIL_TIMEOUT": "5",
        })
        return env

    def start(self) -> "Stack":
        self.workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.redis_proc = start_redis_server(port, self.workdir / "redis")
        self.redis_url = f"redis://127.0.0.1:{port}/0"
        self.database_url = self._create_database()
        self.sink = Sink(self.refuse_every).start()
        env = self.env()
        self._flask(env, "db", "upgrade")
        self._flask(env, "create-admin", "--email", ADMIN["email"], "--username",
                    ADMIN["username"], "--password", ADMIN["password"])
        self.web = Server("wsgi:app", env, "soak")
        self.web.log = self.workdir / "gunicorn.log"  # not var/bench/, which `make bench` wipes
        self.web.start("/health")
        with open(self.workdir / "worker.log", "wb") as log:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "celery_app", "worker", "--concurrency", "2",
                 "--loglevel", "WARNING", "--hostname", f"soak{os.getpid()}@%h"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready(60)
        return self

    def _create_database(self) -> str:
        if self.force_sqlite:
            return f"sqlite:///{self.workdir / 'soak.db'}"
        try:
            admin = psycopg.connect(PG_ADMIN, connect_timeout=3, autocommit=True)
        except psycopg.OperationalError:
            return f"sqlite:///{self.workdir / 'soak.db'}"
        with admin, admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{self.db_name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.db_name}"

    def _flask(self, env: dict, *args: str) -> None:
        out = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=120)
        if out.returncode:
            raise RuntimeError(f"flask {args[0]} failed: {out.stderr[-800:]}")

    def _wait_ready(self, timeout: float) -> None:
        """/health/ready answers 200 only once a worker has recorded itself on both queues."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.worker.poll() is not None:
                raise RuntimeError(f"celery worker exited; see {self.workdir / 'worker.log'}")
            try:
                with urllib.request.urlopen(self.web.base + "/health/ready", timeout=5):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)  # polling a booting worker
        raise RuntimeError(f"not ready in {timeout:.0f}s (no worker recorded itself on both queues)")

    def stop(self, keep_logs: bool) -> None:
        """Each step guarded: one failure must not leave the next process running."""
        steps = [self._stop_worker, lambda: self.web and self.web.stop(),
                 lambda: self.sink and self.sink.stop(), self._stop_redis, self._drop_database]
        for step in steps:
            try:
                step()
            except Exception as e:  # noqa: BLE001 - report and carry on tearing down
                print(f"teardown: {e!r}", file=sys.stderr)
        if not keep_logs:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _stop_worker(self) -> None:
        if self.worker is None or self.worker.poll() is not None:
            return
        self.worker.send_signal(signal.SIGTERM)  # warm shutdown: finishes the task in hand
        try:
            self.worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.worker.pid, signal.SIGKILL)  # its own session: only its children
            self.worker.wait(5)

    def _stop_redis(self) -> None:
        if self.redis_proc is not None and self.redis_proc.poll() is None:
            self.redis_proc.terminate()
            self.redis_proc.wait(10)

    def _drop_database(self) -> None:
        if not self.postgres:
            return
        with psycopg.connect(PG_ADMIN, connect_timeout=3, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
