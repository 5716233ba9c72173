"""The cluster's pieces: host services on the bridge address, processes in namespaces.

On the host, bound to 10.200.0.1 only: a private redis-server (noeviction), a TCP
forwarder to the host's PostgreSQL (which listens on loopback) holding a throw-away
database, and an aiosmtpd sink that counts every Message-ID it accepts.
In the namespaces: gunicorn in api1 and api2, the mail and jobs workers, beat.
"""

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
from aiosmtpd.controller import Controller

from api.embedded_redis import REDIS_SERVER, wait_for_redis
from bench.cluster import net
from bench.soak.sink import MessageIds

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_PORT, REDIS_PORT, SMTP_PORT, API_PORT = 15432, 16379, 12525, 8000
ADMIN = {"email": "admin@cluster.example.com", "username": "clusteradmin",
         "password": secrets.token_urlsafe(16)}


class Forwarder(threading.Thread):
    """10.200.0.1:PG_PORT -> 127.0.0.1:5432, so the namespaces reach the host's PostgreSQL."""

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]):
        super().__init__(daemon=True, name="pg-forwarder")
        self.listen, self.target = listen, target
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()

    async def _pipe(self, reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def run(self):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._handle, *self.listen))
        self.ready.set()
        try:
            self.loop.run_forever()
        finally:
            server.close()

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)


class Cluster:
    def __init__(self, workdir: Path, queues: dict[str, str]):
        self.workdir, self.queues = workdir, queues
        self.db_name = f"cluster_{os.getpid()}"
        self.secret = secrets.token_urlsafe(48)
        self.metrics_token = secrets.token_urlsafe(16)
        self.procs: dict[str, subprocess.Popen] = {}
        self.redis = self.forwarder = self.smtp = None
        self.sink = MessageIds(refuse_every=0)

    def env(self, database_host: str = net.HOST_IP, database_port: int = PG_PORT) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("RATELIMIT_", "MAIL_", "PROMETHEUS_"))}
        env.update({
            "APP_CONFIG": "production", "SECRET_KEY": self.secret, "PYTHONPATH": str(ROOT),
            "DATABASE_URL": f"postgresql://postgres@{database_host}:{database_port}/{self.db_name}",
            "REDIS_URL": f"redis://{net.HOST_IP}:{REDIS_PORT}/0", "LOG_FORMAT": "json",
            "MAIL_SERVER": net.HOST_IP, "MAIL_PORT": str(SMTP_PORT), "MAIL_TIMEOUT": "5",
            "MAIL_DEFAULT_SENDER": "Library <library@cluster.example.com>",
            # A killed worker's claims come back after 5 s rather than 5 minutes.
            "MAIL_LEASE_SECONDS": "5", "MAIL_RETRY_BASE_SECONDS": "0.5", "MAIL_RETRY_MAX_SECONDS": "2",
            "METRICS_TOKEN": self.metrics_token, "WEB_CONCURRENCY": "2",
            # One client address drives all the load: general limits out of the way, and
            # one tight limit to show the counters are shared by both API hosts.
            "RATELIMIT_DEFAULT": "100000 per minute", "RATELIMIT_LOGIN": "100000 per minute",
            "RATELIMIT_REGISTER": "100000 per minute", "RATELIMIT_PASSWORD_RESET": "6 per hour",
        })
        return env

    def start_host_services(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        redis_dir = self.workdir / "redis"
        redis_dir.mkdir(exist_ok=True)
        self.redis = subprocess.Popen(
            [REDIS_SERVER, "--bind", net.HOST_IP, "--port", str(REDIS_PORT), "--save", "",
             "--appendonly", "no", "--maxmemory-policy", "noeviction", "--dir", str(redis_dir),
             "--logfile", str(redis_dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_redis(f"redis://{net.HOST_IP}:{REDIS_PORT}/0")
        self.forwarder = Forwarder((net.HOST_IP, PG_PORT), ("127.0.0.1", 5432))
        self.forwarder.start()
        self.forwarder.ready.wait(10)
        self.smtp = Controller(self.sink, hostname=net.HOST_IP, port=SMTP_PORT)
        self.smtp.start()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{self.db_name}"')
        env = self.env("127.0.0.1", 5432)
        for args in (["db", "upgrade"], ["create-admin", "--email", ADMIN["email"], "--username",
                                         ADMIN["username"], "--password", ADMIN["password"]]):
            subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                           check=True, capture_output=True, timeout=120)

    def command(self, name: str) -> list[str]:
        py = [sys.executable, "-m"]
        if name.startswith("api"):
            return [*py, "gunicorn", "--config", "gunicorn.conf.py",
                    "--bind", f"{net.NODES[name]}:{API_PORT}", "wsgi:app"]
        if name == "beat":
            return [*py, "celery", "-A", "celery_app", "beat", "--loglevel", "INFO"]
        return [*py, "celery", "-A", "celery_app", "worker", "-Q", self.queues[name],
                "--concurrency", "2", "--hostname", f"{name}@cluster", "--loglevel", "INFO"]

    def start(self, name: str) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen([*net.exec_prefix(name), *self.command(name)], cwd=ROOT,
                                env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    def kill(self, name: str) -> None:
        """SIGKILL the whole process group: the worker and its pool children, no goodbyes."""
        proc = self.procs[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if self.smtp is not None:
            self.smtp.stop()
        if self.forwarder is not None:
            self.forwarder.stop()
        if self.redis is not None:
            self.redis.terminate()
            self.redis.wait(10)
        try:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        except psycopg.Error:
            pass
