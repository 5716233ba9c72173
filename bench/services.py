"""The bench's own services: a throw-away PostgreSQL database and a private redis-server.

Nothing here touches the developer's data: the database is `bench_<checkout>` (dropped and
re-created every run) on the loopback PostgreSQL, or a SQLite file under
var/bench/ when PostgreSQL is not reachable; Redis is a fresh redis-server on a
free loopback port that dies with the run.
"""

import fcntl
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
from sqlalchemy import create_engine

from api.embedded_redis import free_port, start_redis_server

ROOT = Path(__file__).resolve().parent.parent
WORKDIR = ROOT / "var" / "bench"
LOCK = ROOT / "var" / "bench.lock"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# The driver the project installs (psycopg 3), named as config.database_url() names it.
# One database per checkout (its directory's name): two checkouts benchmarking on
# one machine must not drop each other's database mid-run. BENCH_DATABASE overrides.
BENCH_DB = os.environ.get("BENCH_DATABASE") or "bench_" + re.sub(r"\W", "_", ROOT.name.lower())
PG_BENCH = f"postgresql+psycopg://postgres@127.0.0.1:5432/{BENCH_DB}"


class Services:
    def __init__(self):
        self.redis_proc = None
        self.redis_url = None
        self.database_url = None
        self.secret = secrets.token_urlsafe(48)

    @property
    def postgres(self) -> bool:
        return bool(self.database_url and self.database_url.startswith("postgresql"))

    def start(self) -> "Services":
        # One bench at a time: a second would drop the first one's database.
        LOCK.parent.mkdir(parents=True, exist_ok=True)
        self.lock = open(LOCK, "w")  # noqa: SIM115 (held until the process exits)
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit("another bench run is in progress (var/bench.lock)") from None
        if WORKDIR.exists():
            shutil.rmtree(WORKDIR)
        WORKDIR.mkdir(parents=True)
        port = free_port()
        self.redis_proc = start_redis_server(port, WORKDIR / "redis")
        self.redis_url = f"redis://127.0.0.1:{port}/0"
        self.database_url = _fresh_database()
        create_schema(self)
        return self

    def stop(self) -> None:
        if self.redis_proc is not None:
            self.redis_proc.terminate()
            self.redis_proc.wait(10)
            self.redis_proc = None

    @property
    def dsn(self) -> str:
        """The database URL as libpq takes it."""
        return self.database_url.replace("+psycopg", "")

    def engine(self):
        return create_engine(self.database_url)

    def redis(self):
        import redis

        return redis.Redis.from_url(self.redis_url, decode_responses=True)

    def versions(self) -> list[str]:
        out = [f"Redis {self.redis().info('server')['redis_version']}"]
        if self.postgres:
            conn = psycopg.connect(self.dsn)
            with conn.cursor() as cur:
                cur.execute("SHOW server_version")
                out.append(f"PostgreSQL {cur.fetchone()[0].split()[0]}")
            conn.close()
        else:
            out.append("SQLite (PostgreSQL not reachable on 127.0.0.1:5432)")
        return out

    def app(self, **extra: str):
        """The full app in this process, configured as the gunicorn servers are."""
        from api import create_app

        env = self.app_env(**extra)
        # Config classes read the environment when config.py is imported, which has
        # happened by now; the same settings go in as overrides instead.
        overrides = {k: v for k, v in env.items() if k.startswith(("RATELIMIT_", "CACHE_"))}
        if "RATELIMIT_ENABLED" in overrides:
            overrides["RATELIMIT_ENABLED"] = overrides["RATELIMIT_ENABLED"] == "true"
        return create_app("development", SQLALCHEMY_DATABASE_URI=self.database_url,
                          REDIS_URL=self.redis_url, SECRET_KEY=self.secret, **overrides)

    def app_env(self, **extra: str) -> dict:
        """Environment for anything that builds the full app against the bench services."""
        env = dict(os.environ)
        env.update({
            "APP_CONFIG": "production", "SECRET_KEY": self.secret,
            "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url,
            "BENCH_DSN": self.dsn,
            # Load comes from one address: a limit this high is checked on every
            # request (so its cost is measured) but never trips.
            "RATELIMIT_DEFAULT": "10000000 per minute",
            "MAIL_SINK_DIR": str(WORKDIR / "mail"), "PYTHONPATH": str(ROOT),
        })
        env.update(extra)
        return env


def _fresh_database() -> str:
    try:
        admin = psycopg.connect(PG_ADMIN, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError:
        return f"sqlite:///{WORKDIR / 'bench.db'}"
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{BENCH_DB}"')
    admin.close()
    return PG_BENCH


def create_schema(services: Services) -> None:
    """Migrations when they exist (what production runs), else the models' metadata."""
    versions = ROOT / "migrations" / "versions"
    if any(versions.glob("*.py")):
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
                       cwd=ROOT, env=services.app_env(), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return
    from api import models  # noqa: F401  (every table registered on the metadata)
    from api.extensions import db

    engine = services.engine()
    db.metadata.create_all(engine)
    engine.dispose()
