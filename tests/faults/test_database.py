"""Database faults: every pooled connection killed between requests, a connection
killed in the middle of a borrow or of the hold-expiry job, and no database at all.

What must hold: a request after the kill succeeds (api/connections.py replaces dead
connections); a request or job whose connection dies answers 503 problem+json
(or fails, for the job), leaves nothing half-written, and can simply be retried; with the database unreachable
everything that needs it answers 503 while liveness still answers 200.
"""

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.pool import NullPool

from api import create_app, tokens
from api.circulation import holds, loans
from api.clock import utcnow
from api.extensions import db
from api.models import Book, Hold, Loan, Notification, User
from scripts.embedded_redis import free_port
from tests.helpers import bearer, create_user, is_problem
from tests.invariants.checks import assert_invariants
from tests.invariants.race import Gate, lend, queue, start, statuses

OTHER_BACKENDS = """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE datname = current_database() AND pid <> pg_backend_pid() {extra}"""


def terminate(app, extra: str = "") -> int:
    """Kill the app's server processes from a connection of our own (not pooled, so
    it survives); returns how many were killed."""
    with app.app_context():
        url = db.engine.url
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            return len(conn.execute(text(OTHER_BACKENDS.format(extra=extra))).all())
    finally:
        engine.dispose()


def kill_midway(app, job, table: str) -> list:
    """Run job() until it waits to write `table` (held shut by a Gate), kill exactly
    that server process, let it go; returns [job's result or exception]."""
    gate = Gate(app, table)
    try:
        thread, out = start(app, job)
        gate.wait_blocked(1)
        killed = terminate(app, f"AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO {table}%'")
        assert killed == 1
    finally:
        gate.open()
    thread.join(60)
    assert not thread.is_alive()
    return out


def token_for(app, user_id: int) -> dict:
    with app.app_context():
        return bearer(tokens.issue_pair(db.session.get(User, user_id))["access_token"])


def counts(app, book_id: int) -> tuple[int, int]:
    with app.app_context():
        db.session.expire_all()
        loans = db.session.scalar(select(func.count()).select_from(Loan).where(Loan.book_id == book_id))
        return loans, db.session.get(Book, book_id).copies_available


@pytest.mark.postgres
def test_every_request_after_the_connections_are_killed_succeeds(app, client, make_book):
    book_id = make_book(copies=3)
    headers = [token_for(app, create_user(app, f"kill{i}").id) for i in range(3)]
    assert client.get("/loans", headers=headers[0]).status_code == 200  # pool warmed
    for i, h in enumerate(headers):
        assert terminate(app) >= 1
        response = client.post("/loans", json={"book_id": book_id}, headers=h)
        assert response.status_code == 201, response.get_json()
        assert counts(app, book_id) == (i + 1, 2 - i)
    assert terminate(app) >= 1
    assert client.get(f"/books/{book_id}", headers=headers[0]).get_json()["copies_available"] == 0
    with app.app_context():
        assert_invariants()


@pytest.mark.postgres
def test_a_borrow_whose_connection_dies_answers_503_and_can_be_retried(app, client, make_book):
    book_id = make_book(copies=1)
    h = token_for(app, create_user(app, "midway").id)
    # Killed at its INSERT INTO loans, with the copy already taken in its transaction.
    (response,) = kill_midway(app, lambda: app.test_client().post(
        "/loans", json={"book_id": book_id}, headers=h), "loans")
    assert is_problem(response, 503), (response.status_code, response.get_json())
    assert response.headers.get("Retry-After")
    assert counts(app, book_id) == (0, 1), "the dead transaction left something behind"
    retry = client.post("/loans", json={"book_id": book_id}, headers=h)
    assert retry.status_code == 201, retry.get_json()
    assert counts(app, book_id) == (1, 0)
    with app.app_context():
        assert_invariants()


@pytest.fixture
def unreachable_app(redis_url):
    # A port nothing listens on: connecting is refused at once, as when the
    # database is down or the network to it is cut.
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/library"
    broken = create_app("testing", REDIS_URL=redis_url, SQLALCHEMY_DATABASE_URI=url)
    yield broken
    with broken.app_context():
        db.engine.dispose()


def test_without_a_database_requests_answer_503_and_liveness_200(app, unreachable_app, make_book):
    book_id = make_book(copies=1)
    user = create_user(app, "nodb")
    headers = token_for(app, user.id)  # same signing key: a token the broken app would accept
    down = unreachable_app.test_client()
    assert down.get("/health").status_code == 200
    requests = [
        ("get", "/books", None, None),
        ("get", f"/books/{book_id}", None, None),
        ("post", "/users/login", {"email": user.email, "password": user.password}, None),
        ("get", "/loans", None, headers),
        ("post", "/loans", {"book_id": book_id}, headers),
        ("post", "/holds", {"book_id": book_id}, headers),
    ]
    for method, path, body, hdrs in requests:
        response = getattr(down, method)(path, json=body, headers=hdrs)
        assert is_problem(response, 503), (method, path, response.status_code, response.get_json())
        assert response.headers.get("Retry-After"), path
    assert counts(app, book_id) == (0, 1)


@pytest.mark.postgres
def test_an_expiry_run_whose_connection_dies_is_redone_exactly_once(app, make_book):
    book_id = make_book(copies=1)
    uids = [create_user(app, f"exp{i}").id for i in range(3)]
    with app.app_context():
        loan_id = lend(uids[0], book_id)
        hold_ids = [queue(u, book_id) for u in uids[1:]]
        loans.return_loan(db.session, loans.get_loan(db.session, loan_id))
        db.session.execute(update(Hold).where(Hold.id == hold_ids[0])
                           .values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    # Killed as it records the next member's email: in its transaction the first
    # hold is already expired and the second ready.
    (failed,) = kill_midway(app, lambda: holds.expire_ready_holds(db.session), "notifications")
    assert isinstance(failed, Exception), failed  # the job fails; its schedule runs it again
    with app.app_context():
        assert statuses(hold_ids) == ["ready", "waiting"], "a dead transaction half-applied"
        assert_invariants()
        assert holds.expire_ready_holds(db.session) == 1
        assert statuses(hold_ids) == ["expired", "ready"]
        keys = db.session.scalars(select(Notification.dedupe_key)
                                  .where(Notification.kind == "hold_ready")).all()
        assert sorted(keys) == sorted(f"hold_ready:{h}" for h in hold_ids)
        assert_invariants()


def test_without_a_database_no_route_answers_500(app, unreachable_app):
    admin = create_user(app, "nodbadmin", role="admin")
    headers = token_for(app, admin.id)
    down = unreachable_app.test_client()
    answers = {}
    for rule in unreachable_app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith(("/apidocs", "/flasgger")):
            continue
        path = rule.rule
        for arg in rule.arguments:
            path = path.replace(f"<int:{arg}>", "1").replace(f"<{arg}>", "1")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = down.open(path, method=method, headers=headers,
                                 json={} if method in ("POST", "PUT", "PATCH") else None)
            answers[f"{method} {path}"] = response.status_code
    assert answers, "no routes found"
    broken = {k: v for k, v in answers.items() if v >= 500 and v != 503}
    assert not broken, broken
