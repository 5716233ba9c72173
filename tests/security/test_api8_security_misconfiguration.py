"""API8:2023 Security Misconfiguration.

No debugger, no stack traces, one error format everywhere, hardening headers on
every response, no version banners from the app, and no cross-origin access.
"""

import pytest

from api import create_app
from config import CONFIGS, ProductionConfig
from tests.helpers import is_problem

HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
           "Referrer-Policy": "no-referrer"}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_debug_is_off_in_every_config(name):
    assert CONFIGS[name].DEBUG is False


def test_production_refuses_a_placeholder_secret(monkeypatch):
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "changeme")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production")


def test_a_crash_is_a_bare_problem_without_internals(make_app):
    # PROPAGATE_EXCEPTIONS off: what production does with an unexpected exception.
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("password=hunter2 at /srv/app/secret.py line 3")

    response = app.test_client().get("/boom")
    assert is_problem(response, 500)
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "Traceback" not in text and "secret.py" not in text


@pytest.mark.parametrize("request_args, status", [
    ({"method": "GET", "path": "/no/such/thing"}, 404),
    ({"method": "PUT", "path": "/books"}, 405),
    ({"method": "TRACE", "path": "/books"}, 405),
    ({"method": "POST", "path": "/users/login", "data": "x", "content_type": "text/plain"}, 415),
    ({"method": "POST", "path": "/users/login", "data": "{", "content_type": "application/json"}, 400),
    ({"method": "GET", "path": "/users/me"}, 401),
    ({"method": "GET", "path": "/books?page=abc"}, 400),
])
def test_errors_are_problem_json_never_html(client, request_args, status):
    args = dict(request_args)
    response = client.open(args.pop("path"), **args)
    assert is_problem(response, status)
    assert "<html" not in response.get_data(as_text=True).lower()


def test_the_app_sends_no_version_banner(client):
    # The WSGI server (gunicorn: "Server: gunicorn", no version) owns the Server header.
    response = client.get("/health")
    assert "Server" not in response.headers and "X-Powered-By" not in response.headers


@pytest.mark.parametrize("method, path", [("GET", "/books"), ("OPTIONS", "/books"), ("GET", "/users/me")])
def test_cors_is_not_open(client, member, method, path):
    response = client.open(path, method=method, headers={
        **member.headers, "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers


def _assert_hardened(response):
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, name
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers.get("Cache-Control")


def test_security_headers_hook_covers_success_errors_and_docs(make_app, member):
    client = make_app().test_client()
    login = client.post("/users/login", json={"email": "nobody@example.com", "password": "x"})
    for response in (client.get("/health"), client.get("/nowhere"), login,
                     client.get("/users/me", headers=member.headers), client.get("/apidocs/")):
        _assert_hardened(response)
    assert client.get("/users/me", headers=member.headers).headers["Cache-Control"] == "no-store"
    assert client.get("/books").headers["Cache-Control"] == "public, no-cache"
    assert "Strict-Transport-Security" not in client.get("/health").headers
    assert "max-age" in client.get("/health", base_url="https://localhost").headers["Strict-Transport-Security"]


@pytest.mark.parametrize("path", ["/health", "/books", "/users/me", "/no/such/thing", "/apispec.json"])
def test_the_app_sends_security_headers(client, path):
    _assert_hardened(client.get(path))
