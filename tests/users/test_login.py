"""POST /users/login: credentials, identical failures, rate limit."""

import pytest

from tests.helpers import PASSWORD, create_user, is_problem


def post_login(client, email, password):
    return client.post("/users/login", json={"email": email, "password": password})


def test_login_returns_token_pair(app, client):
    acct = create_user(app, "carol")
    response = post_login(client, acct.email, PASSWORD)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == app.config["ACCESS_TOKEN_MINUTES"] * 60


def test_email_is_case_insensitive_at_login(app, client):
    create_user(app, "carol")
    assert post_login(client, "  CAROL@Example.com ", PASSWORD).status_code == 200


def test_wrong_email_and_wrong_password_look_the_same(app, client):
    create_user(app, "carol")
    wrong_password = post_login(client, "carol@example.com", "not the password")
    wrong_email = post_login(client, "nobody@example.com", PASSWORD)
    malformed_email = post_login(client, "not an email", PASSWORD)
    assert is_problem(wrong_password, 401)
    assert wrong_password.get_json() == wrong_email.get_json() == malformed_email.get_json()
    assert wrong_email.headers.get("WWW-Authenticate") == wrong_password.headers.get("WWW-Authenticate")


def test_inactive_user_gets_the_same_401(app, client):
    create_user(app, "carol", is_active=False)
    create_user(app, "dave")
    inactive = post_login(client, "carol@example.com", PASSWORD)
    wrong = post_login(client, "dave@example.com", "not the password")
    assert is_problem(inactive, 401)
    assert inactive.get_json() == wrong.get_json()


@pytest.mark.parametrize("body", [
    {"email": "carol@example.com"},
    {"password": PASSWORD},
    {"email": 1, "password": PASSWORD},
    {"email": "carol@example.com", "password": ["x"]},
    {"email": "carol@example.com", "password": PASSWORD, "extra": 1},
    {"email": "carol@example.com", "password": "x" * 129},
    {"email": "carol\x00@example.com", "password": PASSWORD},
])
def test_bad_login_input_is_400(client, body):
    assert is_problem(client.post("/users/login", json=body), 400)


def test_lone_surrogate_email_at_login_is_400(client):
    response = client.post("/users/login", json={"email": "\ud800@example.com", "password": PASSWORD})
    assert is_problem(response, 400)


def test_login_not_json_is_415(client):
    assert is_problem(client.post("/users/login", data="x", content_type="text/plain"), 415)


def test_login_is_rate_limited_per_email(app, client):
    create_user(app, "carol")
    create_user(app, "dave")
    for _ in range(5):
        assert post_login(client, "carol@example.com", "wrong password").status_code == 401
    limited = post_login(client, "carol@example.com", PASSWORD)
    assert is_problem(limited, 429)
    assert "Retry-After" in limited.headers
    # Another account behind the same address is not locked out.
    assert post_login(client, "dave@example.com", PASSWORD).status_code == 200


def test_register_is_rate_limited(app, client):
    limit = int(app.config["RATELIMIT_REGISTER"].split()[0])
    statuses = [client.post("/users/register", json={"username": f"user{i}",
                                                     "email": f"user{i}@example.com",
                                                     "password": "a long password"}).status_code
                for i in range(limit + 1)]
    assert statuses[:limit] == [201] * limit
    assert statuses[-1] == 429


def test_login_upgrades_an_outdated_hash(app, client):
    from argon2 import PasswordHasher

    from api.extensions import db
    from api.models import User

    acct = create_user(app, "carol")
    with app.app_context():
        user = db.session.get(User, acct.id)
        user.password_hash = PasswordHasher(time_cost=2, memory_cost=2048).hash(PASSWORD)
        db.session.commit()
    assert post_login(client, acct.email, PASSWORD).status_code == 200
    with app.app_context():
        assert "m=1024,t=1" in db.session.get(User, acct.id).password_hash


@pytest.mark.parametrize("typed", ["jose\u0301@example.com", "u4@xn--bcher-kva.example"])
def test_an_address_the_validator_rewrote_logs_in_as_typed(client, typed):
    # Registration stores email-validator's normal form (NFC, the IDN domain in
    # Unicode); login and reset look the same form up.
    body = {"username": "typed", "email": typed, "password": PASSWORD}
    registered = client.post("/users/register", json=body)
    assert registered.status_code == 201
    assert registered.get_json()["email"] != typed
    assert post_login(client, typed, PASSWORD).status_code == 200
    assert post_login(client, registered.get_json()["email"], PASSWORD).status_code == 200
