"""POST /users/register."""

import pytest

from tests.helpers import is_problem


def test_register_creates_member_with_location(client, register):
    response = register("carol", "Carol@Example.COM")
    assert response.status_code == 201
    body = response.get_json()
    assert body["username"] == "carol"
    assert body["email"] == "carol@example.com"
    assert body["role"] == "user" and body["is_active"] is True
    assert set(body) == {"id", "username", "email", "role", "is_active", "category", "created_at"}
    assert body["category"] == "adult"
    assert response.headers["Location"].endswith(f"/users/{body['id']}")


def test_password_and_hash_never_returned(register):
    response = register("carol", password="a very secret pw")
    text = response.get_data(as_text=True)
    assert "a very secret pw" not in text
    assert "password" not in text and "argon2" not in text


def test_welcome_email_recorded_once(register, outbox):
    user_id = register("carol").get_json()["id"]
    rows = outbox("welcome")
    assert len(rows) == 1
    assert rows[0].recipient == "carol@example.com"
    assert rows[0].user_id == user_id
    assert rows[0].dedupe_key == f"welcome:{user_id}"
    assert "carol" in rows[0].subject
    assert rows[0].state == "pending"


def test_duplicate_email_is_case_insensitive(register, outbox):
    assert register("carol", "carol@example.com").status_code == 201
    response = register("carol2", "CAROL@example.com")
    assert is_problem(response, 409)
    assert "email" in response.get_json()["errors"]
    assert len(outbox("welcome")) == 1


def test_duplicate_username_is_case_insensitive(register):
    assert register("carol").status_code == 201
    response = register("Carol", "other@example.com")
    assert is_problem(response, 409)
    assert "username" in response.get_json()["errors"]


def test_username_is_stored_lower_case(register):
    assert register("MixedCase").get_json()["username"] == "mixedcase"


def test_can_log_in_after_registering(client, register):
    register("carol")
    response = client.post("/users/login", json={"email": "CAROL@example.com",
                                                 "password": "a long password"})
    assert response.status_code == 200


@pytest.mark.parametrize("field, value", [
    ("username", "ab"),
    ("username", "a" * 33),
    ("username", "has space"),
    ("username", "-leading"),
    ("username", "trailing."),
    ("username", "émile"),
    ("username", "\u212aate"),  # Kelvin sign lower-cases to ASCII 'k'
    ("username", "carol\n"),
    ("username", 123),
    ("username", None),
    ("email", "not-an-email"),
    ("email", "a@b"),
    ("email", "x" * 250 + "@example.com"),
    ("email", ["carol@example.com"]),
    ("password", "short"),
    ("password", "x" * 129),
    ("password", 12345678),
    ("password", "pass\x00word12"),
    ("password", "\ud800surrogate"),
])
def test_invalid_fields_are_400(register, field, value):
    body = {"username": "carol", "email": "carol@example.com", "password": "a long password"}
    body[field] = value
    response = register(**body)
    assert is_problem(response, 400), response.get_json()
    assert field in response.get_json()["errors"]


def test_password_length_bounds_are_inclusive(register):
    assert register("carol", password="x" * 8).status_code == 201
    assert register("dave", password="y" * 128).status_code == 201


def test_missing_and_unknown_fields(client):
    response = client.post("/users/register", json={"username": "carol", "role": "admin"})
    assert is_problem(response, 400)
    errors = response.get_json()["errors"]
    assert {"email", "password", "role"} <= errors.keys()


def test_cannot_register_as_admin(register):
    response = register("carol", role="admin")
    assert is_problem(response, 400)


def test_non_json_is_415(client):
    response = client.post("/users/register", data="username=carol", content_type="text/plain")
    assert is_problem(response, 415)


@pytest.mark.parametrize("data", ['{"username": ', "[1, 2]", "null", '"text"', "\xff\xfe"])
def test_malformed_json_is_400(client, data):
    response = client.post("/users/register", data=data, content_type="application/json")
    assert is_problem(response, 400)


def test_unicode_email_and_password(register):
    response = register("unicode", "jöhn.dœ@exämple.com", password="пароль-密码-🔑🔑")
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("path", ["/users/register", "/users/login", "/users/password-reset"])
def test_huge_body_is_413(client, path):
    body = {"username": "carol", "email": "carol@example.com", "password": "x" * 100_000}
    assert is_problem(client.post(path, json=body), 413)


@pytest.mark.parametrize("username", ["car\u200bol", "\u202ecarol", "ｃａｒｏｌ", "carol\u0301", "😀😀😀"])
def test_odd_unicode_usernames_are_refused(register, username):
    response = register(username, "carol@example.com")
    assert is_problem(response, 400)


@pytest.mark.parametrize("email", ["carol\u200b@example.com", "carol@exa mple.com",
                                   "\u202ecarol@example.com"])
def test_odd_unicode_emails_are_refused(register, email):
    assert is_problem(register("carol", email), 400)
