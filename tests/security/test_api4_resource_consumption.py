"""API4:2023 Unrestricted Resource Consumption.

Every input that scales work has a cap: page size, page number, body size, string
lengths (including the password fed to the KDF), and request rates.
"""

import io
import json
import re

import pytest

from api.pagination import MAX_PAGE, MAX_PER_PAGE
from tests.helpers import is_problem
from tests.security.offline import operations_with_a_body

LIST_PATHS = ["/books", "/loans", "/holds", "/users", "/admin/tasks", "/admin/notifications"]


@pytest.mark.parametrize("path", LIST_PATHS)
def test_page_size_is_capped(client, admin, path):
    response = client.get(f"{path}?per_page=1000000", headers=admin.headers)
    assert response.status_code == 200
    assert response.get_json()["meta"]["per_page"] == MAX_PER_PAGE


@pytest.mark.parametrize("path", LIST_PATHS)
@pytest.mark.parametrize("page", [MAX_PAGE + 1, 10**30, 0, -1])
def test_absurd_page_numbers_are_400(client, admin, path, page):
    assert is_problem(client.get(f"{path}?page={page}", headers=admin.headers), 400)


def test_body_over_max_content_length_is_413_before_parsing(app, client, admin):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert 0 < limit <= 1024 * 1024
    body = '{"title": "' + "x" * limit + '"}'
    response = client.post("/books", data=body, content_type="application/json", headers=admin.headers)
    assert is_problem(response, 413)


def chunked(client, path: str, body: bytes, headers: dict):
    """A body sent as gunicorn passes a chunked one: no Content-Length, the input
    marked terminated by the server."""
    headers = {**headers, "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    return client.post(path, input_stream=io.BytesIO(body), environ_overrides={"wsgi.input_terminated": True},
                       headers=headers)


def test_a_chunked_body_over_the_limit_is_413_and_one_within_it_is_read(app, client, admin):
    limit = app.config["MAX_CONTENT_LENGTH"]
    book = {"title": "Dune", "author": "Frank Herbert", "isbn": "9780306406157", "published_year": 1965,
            "copies": 1}
    over = json.dumps({**book, "description": "x" * limit}).encode()
    assert is_problem(chunked(client, "/books", over, admin.headers), 413)
    exact = json.dumps({**book, "description": ""}).encode()
    exact = exact.replace(b'"description": ""', b'"description": "' + b"x" * (limit - len(exact)) + b'"')
    assert len(exact) == limit
    # Within the limit (to the byte) it reaches the schema, whose description limit refuses it.
    within = chunked(client, "/books", exact, admin.headers)
    assert is_problem(within, 400) and "description" in within.get_json()["errors"]
    assert chunked(client, "/books", json.dumps(book).encode(), admin.headers).status_code == 201


@pytest.mark.parametrize("path, body", [
    ("/users/register", {"username": "henry", "email": "henry@example.com", "password": "p" * 129}),
    ("/users/login", {"email": "henry@example.com", "password": "p" * 129}),
    ("/users/password-reset/confirm", {"token": "t", "password": "p" * 129}),
])
def test_passwords_longer_than_128_never_reach_the_kdf(client, path, body):
    response = client.post(path, json=body)
    assert is_problem(response, 400)
    assert "password" in response.get_json()["errors"]


@pytest.mark.parametrize("path", ["/books?q=", "/books?author=", "/users?q="])
def test_search_strings_are_capped(client, admin, path):
    assert is_problem(client.get(path + "x" * 1000, headers=admin.headers), 400)


def test_every_route_has_a_rate_limit(make_app):
    # Derived from the url_map, so a new route is covered without editing this test.
    from api.ratelimit import EXEMPT_PATHS

    small = make_app(**{name: "1 per minute" for name in (
        "RATELIMIT_DEFAULT", "RATELIMIT_LOGIN", "RATELIMIT_REGISTER", "RATELIMIT_PASSWORD_RESET",
        "RATELIMIT_ADMIN_TASKS")})
    client = small.test_client()
    checked = 0
    for rule in small.url_map.iter_rules():
        if rule.rule.startswith(EXEMPT_PATHS) or rule.endpoint == "static":
            continue
        url = re.sub(r"<[^>]+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            client.open(url, method=method)
            assert is_problem(client.open(url, method=method), 429), (method, rule.rule)
            checked += 1
    assert checked >= 25


def test_default_limit_answers_429_with_retry_after(make_app, member):
    small = make_app(RATELIMIT_DEFAULT="2 per minute")
    client = small.test_client()
    answers = [client.get("/users/me", headers=member.headers) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert is_problem(answers[-1], 429) and int(answers[-1].headers["Retry-After"]) > 0


@pytest.mark.parametrize("path, body", [
    ("/users/register", {"username": "ivan", "email": "ivan@example.com", "password": "a long password"}),
    ("/users/password-reset", {"email": "ivan@example.com"}),
])
def test_account_endpoints_have_tight_limits(make_app, path, body):
    small = make_app(RATELIMIT_REGISTER="1 per hour", RATELIMIT_PASSWORD_RESET="1 per hour")
    client = small.test_client()
    client.post(path, json=body)
    assert is_problem(client.post(path, json=body), 429)


@pytest.mark.parametrize("path, body", [
    ("/users/register", {"username": "judy", "email": "judy@example.com", "password": "a long password"}),
    ("/users/password-reset", {"email": "judy@example.com"}),
])
def test_account_limits_are_per_address_even_with_a_token(make_app, member, path, body):
    # Keyed per user, each account registered brought a fresh budget: registrations (and
    # reset emails to one victim) grew with the accounts one address held.
    small = make_app(RATELIMIT_REGISTER="1 per hour", RATELIMIT_PASSWORD_RESET="1 per hour")
    client = small.test_client()
    client.post(path, json=body)
    assert is_problem(client.post(path, json=body, headers=member.headers), 429)


# 30,000 levels fit in MAX_CONTENT_LENGTH; the json module recurses once per level.
DEEP_JSON = "[" * 30_000 + "]" * 30_000
@pytest.mark.parametrize("method, rule", operations_with_a_body())
def test_deeply_nested_json_is_400_not_500(client, admin, method, rule):
    url = re.sub(r"<[^>]+>", "1", rule)
    response = client.open(url, method=method, data=DEEP_JSON, content_type="application/json",
                           headers=admin.headers)
    assert is_problem(response, 400), response.status_code
