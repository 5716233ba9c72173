"""Fixtures for fuzzing: an app without rate limits and accounts that survive the fuzzer.

The fuzzer sends hundreds of requests per operation from one address; with the real
limits (login 5 per 10 minutes, 300 per minute by default) most answers would be 429
and nothing behind the limiter would be exercised. The limits themselves are covered
by tests/protection and tests/security/test_api4_resource_consumption.py.
"""

from dataclasses import dataclass, field

import pytest

from api import create_app, tokens
from api.extensions import db
from api.models import User
from tests.helpers import bearer, create_user


@pytest.fixture(scope="session")
def fuzz_app(app, redis_url, database_url):
    # Depends on `app` so the tables exist and the per-test cleanup covers this app too.
    fuzz = create_app("testing", REDIS_URL=redis_url, SQLALCHEMY_DATABASE_URI=database_url,
                      RATELIMIT_ENABLED=False)
    yield fuzz
    with fuzz.app_context():
        db.session.remove()
        db.engine.dispose()


ROLES = {"member": "user", "admin": "admin"}


@dataclass
class FuzzWorld:
    """Accounts and rows the fuzzer's requests can hit, restored before every example.

    One operation's examples share the database, and the fuzzer itself deletes users,
    renames them, demotes admins and logs out; so each example gets its accounts
    re-created if needed and freshly issued tokens (issued directly: no KDF, no limit).
    """

    app: object
    ids: dict = field(default_factory=dict)
    created: int = 0

    def headers(self, role: str) -> dict:
        with self.app.app_context():
            user = db.session.get(User, self.ids[role]) if role in self.ids else None
            if user is None:
                # A fresh name each time: the fuzzer may have given the old one to someone else.
                self.created += 1
                self.ids[role] = create_user(self.app, f"fuzz{role}{self.created}", role=ROLES[role]).id
                user = db.session.get(User, self.ids[role])
            if user.role != ROLES[role] or not user.is_active:
                user.role, user.is_active = ROLES[role], True
                db.session.commit()
            pair = tokens.issue_pair(user)
            db.session.remove()
        return bearer(pair["access_token"])

    def seed(self, make_book) -> None:
        """Rows with small ids, so generated path ids sometimes name a real object."""
        self.ids.clear()
        member = self.headers("member")
        self.headers("admin")
        on_shelf, out = make_book(copies=2), make_book(copies=0)
        with self.app.test_client() as client:
            assert client.post("/loans", json={"book_id": on_shelf}, headers=member).status_code == 201
            assert client.post("/holds", json={"book_id": out}, headers=member).status_code == 201


@pytest.fixture
def fuzz_world(fuzz_app, make_book):
    world = FuzzWorld(fuzz_app)
    world.seed(make_book)
    return world
