"""GET/PATCH /users/me."""

import pytest

from tests.helpers import PASSWORD, bearer, is_problem


def patch_me(client, acct, **body):
    return client.patch("/users/me", json=body, headers=acct.headers)


def test_get_me(client, member):
    body = client.get("/users/me", headers=member.headers).get_json()
    assert body["username"] == "alice" and body["email"] == "alice@example.com"
    assert "password_hash" not in body


def test_me_needs_a_token(client):
    assert is_problem(client.get("/users/me"), 401)
    assert is_problem(client.patch("/users/me", json={}), 401)


def test_change_username_needs_no_password(client, member):
    response = patch_me(client, member, username="Alice2")
    assert response.status_code == 200
    assert response.get_json()["username"] == "alice2"


def test_empty_patch_changes_nothing(client, member):
    response = patch_me(client, member)
    assert response.status_code == 200
    assert response.get_json()["username"] == "alice"


def test_username_taken_is_409(client, member, other_member):
    response = patch_me(client, member, username="BOB")
    assert is_problem(response, 409)
    assert "username" in response.get_json()["errors"]


def test_keeping_own_username_is_fine(client, member):
    assert patch_me(client, member, username="alice").status_code == 200


@pytest.mark.parametrize("field, value", [("email", "new@example.com"), ("password", "a new password")])
def test_sensitive_change_without_current_password_is_400(client, member, field, value):
    response = patch_me(client, member, **{field: value})
    assert is_problem(response, 400)
    assert "current_password" in response.get_json()["errors"]


@pytest.mark.parametrize("field, value", [("email", "new@example.com"), ("password", "a new password")])
def test_sensitive_change_with_wrong_current_password_is_403(client, member, field, value):
    response = patch_me(client, member, **{field: value}, current_password="wrong password")
    assert is_problem(response, 403)
    assert client.get("/users/me", headers=member.headers).get_json()["email"] == "alice@example.com"


def test_change_email(client, member, outbox):
    response = patch_me(client, member, email="Alice.New@Example.com", current_password=PASSWORD)
    assert response.status_code == 200
    assert response.get_json()["email"] == "alice.new@example.com"
    # The session survives an email change; the new email logs in.
    assert client.get("/users/me", headers=member.headers).status_code == 200
    login = client.post("/users/login", json={"email": "alice.new@example.com", "password": PASSWORD})
    assert login.status_code == 200


def test_email_taken_is_409(client, member, other_member):
    response = patch_me(client, member, email="BOB@example.com", current_password=PASSWORD)
    assert is_problem(response, 409)
    assert "email" in response.get_json()["errors"]


def test_password_change_kills_old_tokens(client, member):
    response = patch_me(client, member, password="a brand new password", current_password=PASSWORD)
    assert response.status_code == 200
    assert is_problem(client.get("/users/me", headers=member.headers), 401)
    assert is_problem(client.post("/users/refresh", headers=bearer(member.refresh_token)), 401)
    old = client.post("/users/login", json={"email": member.email, "password": PASSWORD})
    assert is_problem(old, 401)
    new = client.post("/users/login", json={"email": member.email, "password": "a brand new password"})
    assert new.status_code == 200
    assert client.get("/users/me", headers=bearer(new.get_json()["access_token"])).status_code == 200


@pytest.mark.parametrize("body", [
    {"role": "admin"}, {"is_active": False}, {"username": None}, {"username": ""},
    {"email": "nope"}, {"password": "short", "current_password": PASSWORD}, {"username": ["a"]},
    {"username": "a\u0000b"},
])
def test_bad_me_input_is_400(client, member, body):
    assert is_problem(client.patch("/users/me", json=body, headers=member.headers), 400)


def test_member_cannot_promote_self(client, member):
    client.patch("/users/me", json={"role": "admin"}, headers=member.headers)
    assert client.get("/users/me", headers=member.headers).get_json()["role"] == "user"


def test_me_non_json_is_415(client, member):
    response = client.patch("/users/me", data="username=x", headers=member.headers,
                            content_type="application/x-www-form-urlencoded")
    assert is_problem(response, 415)
