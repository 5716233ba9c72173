"""Configuration classes. Everything comes from the environment (SPEC "Configuration")."""

import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values, load_dotenv

BASE_DIR = Path(__file__).resolve().parent


def _load_dotenv(path: Path = BASE_DIR / ".env") -> None:
    """A .env file is for development (SPEC "Configuration"): production takes its
    settings, secrets above all, from the environment alone. A .env that asks for
    production is refused rather than ignored, which would start in development."""
    if os.environ.get("APP_CONFIG") == "production":
        return
    if dotenv_values(path).get("APP_CONFIG") == "production":
        raise RuntimeError(f"{path} sets APP_CONFIG=production, but production reads no .env file: "
                           "set APP_CONFIG and the other settings in the environment")
    load_dotenv(path)


_load_dotenv()

DEV_SECRET = "dev-secret-not-for-production-use-a-real-one"
# Values that must never sign production tokens.
PLACEHOLDER_SECRETS = {"", DEV_SECRET, "changeme", "change-me", "secret", "CHANGE_ME"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def database_url() -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'var' / 'library.db'}"
    # Plain postgres:// and postgresql:// URLs get the driver we install (psycopg 3).
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def log_format(env=os.environ) -> str:
    """LOG_FORMAT, else json in production and text elsewhere (SPEC "Operations")."""
    value = (env.get("LOG_FORMAT") or "").strip().lower()
    if not value:
        return "json" if env.get("APP_CONFIG") == "production" else "text"
    if value not in {"json", "text"}:
        raise RuntimeError(f"LOG_FORMAT must be json or text, not {value!r}")
    return value


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET)
    SQLALCHEMY_DATABASE_URI = database_url()
    # No pre-ping: api/connections.py checks a pooled connection without a round trip.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # None means "the development redis-server `make run` started", whose URL it writes
    # here (scripts/embedded_redis.py); the app itself never starts one.
    REDIS_URL = os.environ.get("REDIS_URL")
    EMBEDDED_REDIS_URL_FILE = str(BASE_DIR / "var" / "redis" / "url")
    REDIS_SOCKET_TIMEOUT = float(os.environ.get("REDIS_SOCKET_TIMEOUT", "0.5"))

    MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 64 * 1024)

    ACCESS_TOKEN_MINUTES = env_int("ACCESS_TOKEN_MINUTES", 15)
    REFRESH_TOKEN_DAYS = env_int("REFRESH_TOKEN_DAYS", 7)
    PASSWORD_RESET_MINUTES = env_int("PASSWORD_RESET_MINUTES", 30)
    # argon2id parameters (argon2-cffi's RFC 9106 "low memory" profile by default).
    ARGON2_TIME_COST = env_int("ARGON2_TIME_COST", 3)
    ARGON2_MEMORY_COST = env_int("ARGON2_MEMORY_COST", 65536)

    LOAN_PERIOD_DAYS = env_int("LOAN_PERIOD_DAYS", 14)
    MAX_ACTIVE_LOANS = env_int("MAX_ACTIVE_LOANS", 5)
    MAX_RENEWALS = env_int("MAX_RENEWALS", 2)
    HOLD_PICKUP_DAYS = env_int("HOLD_PICKUP_DAYS", 3)
    DUE_SOON_DAYS = env_int("DUE_SOON_DAYS", 2)
    # Fines, in minor units of CURRENCY (ISO 4217, checked at start-up by api.accounts).
    # The first four seed the `*`/`*` rule; none are charged by default (FINE_PER_DAY=0).
    FINE_PER_DAY = env_int("FINE_PER_DAY", 0)
    FINE_GRACE_DAYS = env_int("FINE_GRACE_DAYS", 0)
    MAX_FINE = env_int("MAX_FINE", 1000)
    MAX_BALANCE = env_int("MAX_BALANCE", 500)
    CURRENCY = os.environ.get("CURRENCY", "USD")
    # New members' patron category, and the zone that defines the library's days.
    DEFAULT_PATRON_CATEGORY = os.environ.get("DEFAULT_PATRON_CATEGORY", "adult")
    LIBRARY_TIMEZONE = os.environ.get("LIBRARY_TIMEZONE", "UTC")

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = env_int("MAIL_PORT", 8025)
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Library <library@localhost>")
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "10"))
    MAIL_MAX_ATTEMPTS = env_int("MAIL_MAX_ATTEMPTS", 5)
    MAIL_SINK_DIR = os.environ.get("MAIL_SINK_DIR", str(BASE_DIR / "var" / "mail"))
    MAIL_BATCH_SIZE = env_int("MAIL_BATCH_SIZE", 50)
    # A claimed row becomes due again after this; it must exceed one SMTP hand-off.
    MAIL_LEASE_SECONDS = env_int("MAIL_LEASE_SECONDS", 300)
    MAIL_RETRY_BASE_SECONDS = float(os.environ.get("MAIL_RETRY_BASE_SECONDS", "30"))
    MAIL_RETRY_MAX_SECONDS = float(os.environ.get("MAIL_RETRY_MAX_SECONDS", "3600"))

    # Celery: api/celery_setup.py builds the settings (REDIS_URL may only be known once the
    # embedded Redis runs); entries here override them.
    CELERY: dict = {}
    TASK_TIME_LIMIT = env_int("TASK_TIME_LIMIT", 1800)
    HEALTH_CHECK_TIMEOUT = float(os.environ.get("HEALTH_CHECK_TIMEOUT", "2"))
    # How often each worker records the queues it consumes (api/worker_heartbeat.py);
    # readiness fails for a queue three intervals after its last worker went quiet.
    WORKER_HEARTBEAT_SECONDS = float(os.environ.get("WORKER_HEARTBEAT_SECONDS", "10"))

    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_DEFAULT = os.environ.get("RATELIMIT_DEFAULT", "300 per minute")
    RATELIMIT_LOGIN = os.environ.get("RATELIMIT_LOGIN", "5 per 10 minutes")
    RATELIMIT_REGISTER = os.environ.get("RATELIMIT_REGISTER", "10 per hour")
    RATELIMIT_PASSWORD_RESET = os.environ.get("RATELIMIT_PASSWORD_RESET", "5 per hour")
    RATELIMIT_ADMIN_TASKS = os.environ.get("RATELIMIT_ADMIN_TASKS", "30 per minute")
    # Number of proxies in front of the app whose X-Forwarded-For we trust (0: none).
    PROXY_FIX_X_FOR = env_int("PROXY_FIX_X_FOR", 0)

    CACHE_DEFAULT_TIMEOUT = env_int("CACHE_DEFAULT_TIMEOUT", 60)
    # After a Redis failure, leave it alone this long before trying again, so a hung
    # server costs one timeout per interval rather than one per request.
    CACHE_RETRY_SECONDS = float(os.environ.get("CACHE_RETRY_SECONDS", "5"))
    RATELIMIT_STORAGE_RETRY_SECONDS = float(os.environ.get("RATELIMIT_STORAGE_RETRY_SECONDS", "5"))

    OVERDUE_CHECK_CRON = os.environ.get("OVERDUE_CHECK_CRON", "0 6 * * *")
    DUE_SOON_CRON = os.environ.get("DUE_SOON_CRON", "0 7 * * *")
    EXPIRE_HOLDS_CRON = os.environ.get("EXPIRE_HOLDS_CRON", "5 * * * *")
    # Before the overdue check, so its emails can state the fine to date.
    FINES_ACCRUAL_CRON = os.environ.get("FINES_ACCRUAL_CRON", "30 5 * * *")
    OUTBOX_SWEEP_CRON = os.environ.get("OUTBOX_SWEEP_CRON", "* * * * *")
    JOB_BATCH_SIZE = env_int("JOB_BATCH_SIZE", 1000)
    # Rows per batch of the set-based jobs (overdue check, due-soon reminders,
    # fines-accrual), whose rows never pass through Python: memory stays flat at any
    # size, and per-batch costs (bound, progress, commit) are paid ten times less.
    BULK_BATCH_SIZE = env_int("BULK_BATCH_SIZE", 10_000)
    # Job control (api/admin, worker/imports.py, worker/exports.py, worker/files.py).
    IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 50 * 1024 * 1024)
    IMPORT_BATCH_SIZE = env_int("IMPORT_BATCH_SIZE", 500)
    TASK_OUTPUT_MAX_BYTES = env_int("TASK_OUTPUT_MAX_BYTES", 100 * 1024 * 1024)
    TASK_FILE_RETENTION_DAYS = env_int("TASK_FILE_RETENTION_DAYS", 30)
    TASK_FILES_CLEANUP_CRON = os.environ.get("TASK_FILES_CLEANUP_CRON", "30 3 * * *")

    LOG_FORMAT = log_format()
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
    # Bearer token for GET /metrics; unset means the endpoint does not exist (404).
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None
    # Beat: how long a tick may sleep, and how long the one-scheduler lock outlives a
    # beat that died without releasing it (a clean stop releases it at once).
    BEAT_MAX_INTERVAL = env_int("BEAT_MAX_INTERVAL", 10)
    BEAT_LOCK_TIMEOUT = env_int("BEAT_LOCK_TIMEOUT", 60)

    TESTING = False
    DEBUG = False

    @classmethod
    def validate(cls) -> None:
        """Refuse to start on settings that would only fail later, mid-request."""
        check_library_settings(cls.LIBRARY_TIMEZONE, cls.DEFAULT_PATRON_CATEGORY)


class DevelopmentConfig(Config):
    DEBUG = False  # the Werkzeug debugger is never on; errors are problem+json


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret-of-at-least-thirty-two-bytes"
    ACCESS_TOKEN_MINUTES = 15
    # Fast hashing keeps the suite quick; production keeps argon2's defaults.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024


class ProductionConfig(Config):
    @classmethod
    def validate(cls) -> None:
        super().validate()
        if cls.SECRET_KEY in PLACEHOLDER_SECRETS or len(cls.SECRET_KEY) < 32:
            raise RuntimeError(
                "SECRET_KEY must be set to a random value of at least 32 characters "
                "in production (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if not cls.REDIS_URL:
            raise RuntimeError("REDIS_URL must be set in production (the embedded Redis is for development)")


CODE_RE = re.compile(r"[a-z0-9_-]{1,32}")


def check_library_settings(timezone: str, category: str) -> None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuntimeError(f"LIBRARY_TIMEZONE must be an IANA time zone name "
                           f"(e.g. Europe/Paris), not {timezone!r}") from None
    if not CODE_RE.fullmatch(category):
        raise RuntimeError(f"DEFAULT_PATRON_CATEGORY must match ^[a-z0-9_-]{{1,32}}$, not {category!r}")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def get_config(name: str | None = None) -> type[Config]:
    name = name or os.environ.get("APP_CONFIG", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"APP_CONFIG must be one of {sorted(CONFIGS)}, not {name!r}") from None
