"""Redis stops mid-test and comes back: reads fail open, strict limits fail closed,
and everything recovers without a restart of the app."""

import logging

import pytest

from scripts.embedded_redis import free_port, start_redis_server
from tests.helpers import is_problem


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own, with stop() and start() on the same port."""

    class Server:
        port = free_port()
        url = f"redis://127.0.0.1:{port}/0"
        proc = None

        def start(self):
            self.proc = start_redis_server(self.port, tmp_path)

        def stop(self):
            self.proc.terminate()
            self.proc.wait(10)

    server = Server()
    server.start()
    yield server
    if server.proc.poll() is None:
        server.stop()


@pytest.fixture
def fragile_app(make_app, own_redis):
    # Retry Redis on every request so the test needs no waiting.
    return make_app(REDIS_URL=own_redis.url, RATELIMIT_STORAGE_RETRY_SECONDS=0, CACHE_RETRY_SECONDS=0,
                    RATELIMIT_DEFAULT="3 per minute", RATELIMIT_LOGIN="2 per minute")


def login_attempt(client):
    return client.post("/users/login", json={"email": "nobody@example.com", "password": "x" * 10})


def test_redis_down_and_back(fragile_app, own_redis, make_book, count_sql, caplog, monkeypatch):
    # Alembic's logging.config.fileConfig (tests/core) disables existing loggers.
    monkeypatch.setattr(logging.getLogger("api.caching"), "disabled", False)
    client = fragile_app.test_client()
    book_id = make_book(title="Kept")
    assert client.get(f"/books/{book_id}").status_code == 200
    statements = count_sql(on=fragile_app)
    assert client.get(f"/books/{book_id}").status_code == 200 and statements == []

    own_redis.stop()
    # Catalog reads come from the database.
    down = client.get(f"/books/{book_id}")
    assert down.status_code == 200 and down.get_json()["title"] == "Kept"
    assert "Catalog cache unavailable" in caplog.text
    # The general limit keeps counting, in memory.
    codes = [client.get("/books").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    # Login fails closed rather than unlimited.
    closed = login_attempt(client)
    assert is_problem(closed, 503) and closed.headers["Retry-After"]
    for url, body in [("/users/register", {"username": "newbie", "email": "n@example.com",
                                           "password": "long enough"}),
                      ("/users/password-reset", {"email": "n@example.com"})]:
        assert is_problem(client.post(url, json=body), 503), url

    own_redis.start()
    # The in-memory window above is spent, so a 200 shows counting is back in Redis.
    back = client.get("/books")
    assert back.status_code == 200 and back.headers["X-RateLimit-Remaining"] == "2"
    assert login_attempt(client).status_code == 401
    assert login_attempt(client).status_code == 401
    assert login_attempt(client).status_code == 429  # counted in Redis again
    client.get(f"/books/{book_id}")
    statements = count_sql(on=fragile_app)
    hit = client.get(f"/books/{book_id}")
    assert hit.status_code == 200 and statements == []  # served from Redis again
