"""Helpers every test area uses: accounts, requests, problem checks, database
cleaning and the race runner. Fixtures live in tests/conftest.py."""

import threading
from dataclasses import dataclass, field

from sqlalchemy import text

from api.errors import ApiError
from api.extensions import db
from api.models import User
from api.passwords import hash_password
from api.rules.resolve import default_rule_insert

PASSWORD = "correct horse battery"


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


def is_problem(response, status: int) -> bool:
    body = response.get_json(silent=True) or {}
    return (response.status_code == status
            and response.mimetype == "application/problem+json"
            and body.get("status") == status
            and {"type", "title", "detail"} <= body.keys())


def clean_database() -> None:
    """Empty every table (inside an app context); ids restart on PostgreSQL. The `*`/`*`
    rule is seeded again from this app's settings, as create_all and the migrations do."""
    db.session.remove()
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
        conn.execute(default_rule_insert())


def race(app, *jobs):
    """Run each job() in its own thread, all released by one Barrier, each in its own
    app context (so its own session and database connection); returns their results
    in order, an ApiError being the result of a job that raised it. Any other
    exception fails the race, naming which job raised what."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(i, job):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                results[i] = job()
            except Exception as e:  # returned to the test, never swallowed
                results[i] = e
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a racing job hung (deadlock?)"
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, ApiError)]
    assert not unexpected, unexpected
    return results


def take_item(book_id: int, status: str = "on_loan") -> int:
    """Move one shelf item of the book to `status` and recount, as a loan or ready hold
    written directly by a test needs; returns the item id. Call in an app context."""
    from api.circulation.items import first_available, move_item
    from api.extensions import db

    item = first_available(db.session, book_id)
    move_item(db.session, item.id, book_id, status, expect=("available",))
    return item.id
