"""Logs: one JSON object per line (or text), one access line per request, request
ids on every line, and no secret in any line."""

import io
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from api import create_app
from api.extensions import db
from api.logs import JsonFormatter, RequestIdFilter, TextFormatter, scrub
from tests.helpers import bearer
from tests.worker.fixtures import wait_for

ROOT = Path(__file__).resolve().parents[2]


class Captured:
    def __init__(self, formatter):
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(formatter)
        self.handler.addFilter(RequestIdFilter())
        # aiosmtpd, the test's SMTP server, logs whole messages at DEBUG: not our process.
        self.handler.addFilter(lambda record: not record.name.startswith("mail.log"))

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines()]

    def access(self) -> list[dict]:
        return [r for r in self.records() if r["logger"] == "library.access"]


@pytest.fixture
def captured():
    """Everything any logger writes, at DEBUG, through the production JSON formatter."""
    capture = Captured(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(capture.handler)
    root.setLevel(logging.DEBUG)
    yield capture
    root.removeHandler(capture.handler)
    root.setLevel(level)


def test_one_json_access_line_per_request(client, member, captured):
    response = client.get("/loans/12345", headers={**member.headers, "X-Request-ID": "req-1"})
    client.get("/no/such/path?secret=1")
    first, second = captured.access()
    assert response.status_code == 404
    assert first["request_id"] == "req-1"
    assert {k: first[k] for k in ("method", "route", "status", "user_id", "path")} == {
        "method": "GET", "route": "/loans/<int:loan_id>", "status": 404, "user_id": member.id,
        "path": "/loans/12345"}
    assert isinstance(first["duration_ms"], float) and first["level"] == "INFO"
    assert second["route"] is None and second["user_id"] is None and second["path"] == "/no/such/path"
    assert "secret" not in captured.text  # the query string is never logged


@pytest.fixture
def failing_app(redis_url, database_url):
    app = create_app("testing", REDIS_URL=redis_url, SQLALCHEMY_DATABASE_URI=database_url,
                     PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        logging.getLogger("api.test").warning("about to fail")
        raise RuntimeError("unexpected")

    yield app
    with app.app_context():
        db.engine.dispose()


def test_every_line_of_a_request_carries_its_id_even_a_500(failing_app, captured):
    response = failing_app.test_client().get("/boom", headers={"X-Request-ID": "all-lines"})
    assert response.status_code == 500 and response.headers["X-Request-ID"] == "all-lines"
    lines = [r for r in captured.records() if r["logger"] in ("api.test", "api.errors", "library.access")]
    assert [r["logger"] for r in lines] == ["api.test", "api.errors", "library.access"]
    assert {r["request_id"] for r in lines} == {"all-lines"}
    assert "RuntimeError: unexpected" in lines[1]["exc"]
    assert (lines[2]["route"], lines[2]["status"]) == ("/boom", 500)


def test_text_format_has_the_same_facts():
    record = logging.LogRecord("library.access", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
    RequestIdFilter().filter(record)
    line = TextFormatter().format(record)
    assert re.search(r" INFO \[-\] library.access: GET /x$", line)


def test_scrub_masks_token_shapes():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    assert "eyJ" not in scrub(f"token {jwt} here")
    assert "abcdefgh123" not in scrub("Authorization: Bearer abcdefgh123")


@pytest.mark.worker
def test_no_secret_in_any_log_line(worker_app, celery_worker, inbox, captured):
    client = worker_app.test_client()
    password, new_password = "first long password", "second long password"
    assert client.post("/users/register", json={"username": "sam", "email": "sam@example.com",
                                                "password": password}).status_code == 201
    tokens = client.post("/users/login", json={"email": "sam@example.com", "password": password}).get_json()
    refreshed = client.post("/users/refresh", headers=bearer(tokens["refresh_token"])).get_json()
    assert client.get("/users/me", headers=bearer(refreshed["access_token"])).status_code == 200
    assert client.get("/users/me", headers=bearer("not-a-jwt-but-secretish")).status_code == 401
    assert client.post("/users/login", json={"email": "sam@example.com",
                                             "password": "wrong password!"}).status_code == 401
    assert client.post("/users/password-reset", json={"email": "sam@example.com"}).status_code == 202
    reset = wait_for(lambda: [m for m in inbox.messages if "reset" in m["Subject"].lower()],
                     message="the reset email")[0]
    reset_token = re.search(r"^ {4}(\S+)\r?$", reset.get_payload(decode=True).decode(), re.M).group(1)
    assert client.post("/users/password-reset/confirm",
                       json={"token": reset_token, "password": new_password}).status_code == 204
    assert client.post("/users/login", json={"email": "sam@example.com",
                                             "password": new_password}).status_code == 200

    text = captured.text
    assert len(captured.access()) == 9
    secrets = [password, new_password, "wrong password!", reset_token, "not-a-jwt-but-secretish",
               *tokens.values(), *refreshed.values()]
    for secret in secrets:
        if isinstance(secret, str) and len(secret) > 8:
            assert secret not in text
    assert "Bearer" not in text and "Authorization" not in text


def test_gunicorn_and_celery_loggers_write_json_lines():
    code = ("from api.logs import setup_logging; setup_logging('json');"
            "import logging; logging.getLogger('gunicorn.error').info('Booting worker');"
            "logging.getLogger('celery.worker.consumer').warning('Connected');"
            "logging.getLogger('celery.task').error('boom')")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, check=True)
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(r["logger"], r["message"]) for r in lines] == [
        ("gunicorn.error", "Booting worker"), ("celery.worker.consumer", "Connected"),
        ("celery.task", "boom")]
    assert {r["request_id"] for r in lines} == {None} or {r["request_id"] for r in lines} == {"-"}


def test_the_access_line_is_written_once_the_response_is_closed(client, captured):
    response = client.get("/no/such/path", headers={"X-Request-ID": "late-line"}, buffered=False)
    assert response.status_code == 404 and captured.access() == []
    response.close()
    (line,) = captured.access()
    assert line["request_id"] == "late-line" and line["status"] == 404
