"""Rate limits: counts, keys, proxies, login lock-out, headers, exemptions, cost."""

import pytest

from api.ratelimit import limiter
from tests.helpers import PASSWORD, create_user, is_problem


def hammer(client, url, n, **kwargs):
    return [client.get(url, **kwargs).status_code for _ in range(n)]


def test_default_limit_triggers_at_the_configured_count_and_resets(small_app):
    client = small_app.test_client()
    responses = [client.get("/books") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0"]
    assert all(r.headers["X-RateLimit-Limit"] == "3" for r in responses)
    assert "Retry-After" not in responses[0].headers
    blocked = client.get("/books")
    assert is_problem(blocked, 429)
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert int(blocked.headers["X-RateLimit-Reset"]) > 0
    # The IETF fields SPEC names, beside v1's: the same limit, reset in seconds from now.
    assert [r.headers["RateLimit-Remaining"] for r in responses] == ["2", "1", "0"]
    assert responses[0].headers["RateLimit-Limit"] == "3"
    assert int(blocked.headers["RateLimit-Reset"]) == int(blocked.headers["Retry-After"])
    with small_app.app_context():
        limiter.reset()
    assert client.get("/books").status_code == 200


def test_the_default_limit_applies_per_route(small_app, make_book):
    client = small_app.test_client()
    book_id = make_book()
    assert hammer(client, "/books", 4)[-1] == 429
    assert client.get(f"/books/{book_id}").status_code == 200


def test_unknown_urls_are_limited_too(small_app):
    client = small_app.test_client()
    codes = [client.get(f"/no-such-page/{i}").status_code for i in range(3)]
    assert codes == [404, 404, 404]
    assert is_problem(client.put("/books"), 429)  # a 405 shares that bucket


def test_keyed_by_user_when_a_valid_token_is_sent(small_app, member, other_member):
    client = small_app.test_client()
    assert hammer(client, "/books", 4)[-1] == 429
    assert hammer(client, "/books", 3, headers=member.headers) == [200] * 3
    assert client.get("/books", headers=member.headers).status_code == 429
    assert client.get("/books", headers=other_member.headers).status_code == 200
    # A forged token is not a key of its own: it counts against the address.
    assert client.get("/books", headers={"Authorization": "Bearer forged"}).status_code == 429


def test_x_forwarded_for_is_ignored_without_a_configured_proxy(small_app):
    client = small_app.test_client()
    codes = [client.get("/books", headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code
             for i in range(4)]
    assert codes == [200, 200, 200, 429]


def test_x_forwarded_for_is_honoured_behind_a_configured_proxy(proxied_app):
    client = proxied_app.test_client()
    one = {"X-Forwarded-For": "203.0.113.1"}
    assert hammer(client, "/books", 4, headers=one)[-1] == 429
    assert client.get("/books", headers={"X-Forwarded-For": "203.0.113.2"}).status_code == 200


def test_login_lockout_is_per_address_and_email(app, make_app):
    victim = create_user(app, "victim")
    create_user(app, "colleague")
    client = make_app(PROXY_FIX_X_FOR=1, RATELIMIT_LOGIN="2 per minute").test_client()

    def attempt(email, address, password="wrong password"):
        return client.post("/users/login", json={"email": email, "password": password},
                           headers={"X-Forwarded-For": address})

    office, elsewhere = "198.51.100.7", "198.51.100.8"
    assert [attempt(victim.email, office).status_code for _ in range(2)] == [401, 401]
    locked = attempt(victim.email, office, PASSWORD)
    assert is_problem(locked, 429) and int(locked.headers["Retry-After"]) >= 1
    # Someone else in the same office, and the owner from elsewhere, still get in.
    assert attempt("colleague@example.com", office, PASSWORD).status_code == 200
    assert attempt(victim.email, elsewhere, PASSWORD).status_code == 200
    # Case and whitespace variants of the email count as the same account.
    assert attempt(" VICTIM@example.com ", office).status_code == 429


@pytest.mark.parametrize("url,body", [
    ("/users/register", {"username": "x", "email": "x@example.com", "password": "short"}),
    ("/users/password-reset", {"email": "nobody@example.com"}),
])
def test_register_and_password_reset_are_limited(small_app, url, body):
    client = small_app.test_client()
    codes = [client.post(url, json=body).status_code for _ in range(3)]
    assert codes[:2] != [429, 429] and codes[2] == 429


def test_probes_and_docs_are_exempt(small_app):
    client = small_app.test_client()
    for url in ("/health", "/apispec.json", "/apidocs/"):
        responses = [client.get(url) for _ in range(5)]
        assert [r.status_code for r in responses] == [200] * 5, url
        assert "X-RateLimit-Limit" not in responses[-1].headers


def test_limits_come_from_the_environment_config(make_app):
    client = make_app(RATELIMIT_DEFAULT="1 per minute").test_client()
    assert hammer(client, "/books", 2) == [200, 429]
    assert client.get("/books").headers["X-RateLimit-Limit"] == "1"


def test_one_redis_command_per_limit_check(make_app, redis_client):
    probe_app = make_app()
    probe_app.add_url_rule("/probe", "probe", lambda: "ok")
    client = probe_app.test_client()
    assert client.get("/probe").status_code == 200  # loads the Lua script once

    def calls():
        stats = redis_client.info("commandstats")
        return {name: s["calls"] for name, s in stats.items() if name != "cmdstat_info"}

    before = calls()
    response = client.get("/probe")
    after = calls()
    limit = int(response.headers["X-RateLimit-Limit"])
    assert response.headers["X-RateLimit-Remaining"] == str(limit - 2)
    delta = {name: n - before.get(name, 0) for name, n in after.items() if n != before.get(name, 0)}
    # One round trip: the EVALSHA; commandstats also counts the commands run inside it.
    assert delta.pop("cmdstat_evalsha") == 1
    assert set(delta) <= {"cmdstat_incrby", "cmdstat_expire", "cmdstat_pttl"}


def test_session_app_is_unaffected_by_extra_apps(small_app, client):
    small = small_app.test_client()
    assert hammer(small, "/books", 4)[-1] == 429
    assert client.get("/books").status_code == 200
    assert client.get("/books").headers["X-RateLimit-Limit"] != "3"


def test_login_also_counts_against_the_per_address_default(app, make_app):
    client = make_app(RATELIMIT_DEFAULT="3 per minute", RATELIMIT_LOGIN="5 per minute").test_client()
    codes = [client.post("/users/login", json={"email": f"u{i}@example.com", "password": "x" * 10})
             .status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]


def test_limits_can_be_switched_off_per_app(make_app, client):
    off = make_app(RATELIMIT_ENABLED=False, RATELIMIT_DEFAULT="1 per minute").test_client()
    responses = [off.get("/books") for _ in range(3)]
    assert [r.status_code for r in responses] == [200] * 3
    assert "X-RateLimit-Limit" not in responses[-1].headers
    assert "X-RateLimit-Limit" in client.get("/books").headers  # the session app still limits
