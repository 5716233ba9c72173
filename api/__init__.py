"""The application factory."""

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from api.after_response import ClosingClient
from config import get_config


class LibraryApp(Flask):
    """Flask, asking once per function whether it is a coroutine function.

    Flask passes every hook and view through `ensure_sync` on every request
    (`inspect.iscoroutinefunction`, 12 calls for a cached catalog read); a function's
    answer never changes. Coroutine functions still go through Flask each time.
    Its test client closes responses as a server does (api/after_response.py).
    """

    test_client_class = ClosingClient

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plain_functions: set = set()

    def ensure_sync(self, func):
        try:
            if func in self._plain_functions:
                return func
        except TypeError:  # unhashable: Flask answers
            return super().ensure_sync(func)
        wrapped = super().ensure_sync(func)
        if wrapped is func:
            self._plain_functions.add(func)
        return wrapped


def create_app(config_name: str | None = None, **overrides) -> Flask:
    app = LibraryApp(__name__)
    config = get_config(config_name)
    if hasattr(config, "validate"):
        config.validate()
    app.config.from_object(config)
    app.config.update(overrides)
    app.json.sort_keys = False
    from api.sessions import NoSessions

    app.session_interface = NoSessions()
    if app.config.get("REDIS_URL") is None:
        app.config["REDIS_URL"] = _running_embedded_redis(app)

    from api.health.probe import LivenessProbe

    # Innermost, so a trusted proxy's X-Forwarded-Proto has been applied (HSTS).
    app.wsgi_app = LivenessProbe(app.wsgi_app)
    if app.config["PROXY_FIX_X_FOR"]:
        # Trust exactly the configured number of proxies; with none, X-Forwarded-For
        # is ignored, so a client cannot choose its own rate-limit key.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"],
                                x_proto=1, x_host=1)

    from api import models  # noqa: F401  (register every table with SQLAlchemy)
    from api.errors import register_error_handlers
    from api.extensions import db, migrate
    from api.redis_client import init_redis

    db.init_app(app)
    # Batch mode lets Alembic ALTER tables on SQLite by copying them.
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"),
                     render_as_batch=True, compare_type=True)
    init_redis(app)
    _init_sqlite(app)
    from api.connections import init_connection_checks

    init_connection_checks(app)
    from api.celery_setup import celery_init_app

    celery_init_app(app)
    from api.beat import init_beat

    init_beat(app)

    from api.caching import init_cache
    from api.ratelimit import init_limiter
    from api.security_headers import init_security_headers

    init_cache(app)
    init_limiter(app)
    register_error_handlers(app)
    init_security_headers(app)
    from api.logs import init_access_log
    from api.metrics.http import init_http_metrics
    from api.request_id import init_request_id

    init_request_id(app)
    init_access_log(app)
    init_http_metrics(app)
    _register_blueprints(app)

    from api.cli import register_cli
    from api.docs import init_docs

    register_cli(app)
    init_docs(app)
    return app


def _running_embedded_redis(app: Flask) -> str:
    """The development redis-server `make run` started (scripts/embedded_redis.py)."""
    from pathlib import Path

    path = Path(app.config["EMBEDDED_REDIS_URL_FILE"])
    if not path.exists():
        raise RuntimeError("REDIS_URL is not set and no development Redis is running: set REDIS_URL, "
                           "start `make run`, or run the command under "
                           "`python -m scripts.embedded_redis ...`")
    return path.read_text().strip()


def _register_blueprints(app: Flask) -> None:
    from api.accounts import bp as accounts_bp
    from api.admin import bp as admin_bp
    from api.audit import bp as audit_bp
    from api.blocks import bp as blocks_bp
    from api.books import bp as books_bp
    from api.console import bp as console_bp
    from api.days import bp as days_bp
    from api.health import bp as health_bp
    from api.holds import bp as holds_bp
    from api.imports import bp as imports_bp
    from api.items import bp as items_bp
    from api.loans import bp as loans_bp
    from api.metrics import bp as metrics_bp
    from api.rules import bp as rules_bp
    from api.users import bp as users_bp

    app.register_blueprint(users_bp, url_prefix="/users")
    app.register_blueprint(accounts_bp, url_prefix="/users")
    app.register_blueprint(blocks_bp, url_prefix="/users")
    app.register_blueprint(books_bp, url_prefix="/books")
    app.register_blueprint(loans_bp, url_prefix="/loans")
    app.register_blueprint(holds_bp, url_prefix="/holds")
    app.register_blueprint(items_bp)  # /items and /books/<id>/items
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(audit_bp, url_prefix="/admin/audit")
    app.register_blueprint(imports_bp, url_prefix="/admin/imports")
    app.register_blueprint(rules_bp, url_prefix="/admin/rules")
    # /admin/calendar and the public /calendar.
    app.register_blueprint(days_bp)
    app.register_blueprint(health_bp, url_prefix="/health")
    app.register_blueprint(console_bp, url_prefix="/console")
    app.register_blueprint(metrics_bp, url_prefix="/metrics")


def _init_sqlite(app: Flask) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from pathlib import Path

    from sqlalchemy import event, make_url

    database = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)

    from api.extensions import db

    with app.app_context():
        @event.listens_for(db.engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            # Enforce foreign keys (SQLite's default is off) and let readers and a
            # writer work at once; wait for locks rather than failing at once.
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()
