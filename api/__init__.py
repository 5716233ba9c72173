"""The application factory."""

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import get_config


def create_app(config_name: str | None = None, **overrides) -> Flask:
    app = Flask(__name__)
    config = get_config(config_name)
    if hasattr(config, "validate"):
        config.validate()
    app.config.from_object(config)
    app.config.update(overrides)
    app.json.sort_keys = False
    from api.sessions import NoSessions

    app.session_interface = NoSessions()
    if app.config.get("REDIS_URL") is None:
        from api.embedded_redis import ensure_embedded_redis

        app.config["REDIS_URL"] = ensure_embedded_redis()

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
    from api.extensions import db, ma, migrate
    from api.redis_client import init_redis

    db.init_app(app)
    # Batch mode lets Alembic ALTER tables on SQLite by copying them.
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"),
                     render_as_batch=True, compare_type=True)
    ma.init_app(app)
    init_redis(app)
    _init_sqlite(app)
    from api.celery import celery_init_app

    celery_init_app(app)

    from api.caching import init_cache
    from api.ratelimit import init_limiter
    from api.security_headers import init_security_headers

    init_cache(app)
    init_limiter(app)
    register_error_handlers(app)
    init_security_headers(app)
    _register_blueprints(app)

    from api.cli import register_cli
    from api.docs import init_docs

    register_cli(app)
    init_docs(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from api.admin import bp as admin_bp
    from api.audit import bp as audit_bp
    from api.books import bp as books_bp
    from api.health import bp as health_bp
    from api.holds import bp as holds_bp
    from api.loans import bp as loans_bp
    from api.users import bp as users_bp

    app.register_blueprint(users_bp, url_prefix="/users")
    app.register_blueprint(books_bp, url_prefix="/books")
    app.register_blueprint(loans_bp, url_prefix="/loans")
    app.register_blueprint(holds_bp, url_prefix="/holds")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(audit_bp, url_prefix="/admin/audit")
    app.register_blueprint(health_bp, url_prefix="/health")


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
