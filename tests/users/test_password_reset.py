"""POST /users/password-reset and /users/password-reset/confirm."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from api import clock
from api.extensions import db
from api.models import PasswordResetToken
from tests.helpers import PASSWORD, bearer, create_user, is_problem

NEW = "a fresh new password"


def request_reset(client, email):
    return client.post("/users/password-reset", json={"email": email})


def confirm(client, token, password=NEW):
    return client.post("/users/password-reset/confirm", json={"token": token, "password": password})


def token_from(row) -> str:
    # Read the token out of the email, as the member would.
    return re.search(r"^\s{4}(\S+)$", row.body, re.M).group(1)


def test_known_and_unknown_emails_get_the_same_202(app, client, outbox):
    create_user(app, "carol")
    known = request_reset(client, "CAROL@example.com")
    unknown = request_reset(client, "nobody@example.com")
    malformed = request_reset(client, "not an email")
    assert known.status_code == unknown.status_code == malformed.status_code == 202
    assert known.get_json() == unknown.get_json() == malformed.get_json()
    assert known.headers.get("Content-Type") == unknown.headers.get("Content-Type")
    rows = outbox("password_reset")
    assert len(rows) == 1 and rows[0].recipient == "carol@example.com"


def test_only_the_hash_is_stored(app, client, outbox):
    create_user(app, "carol")
    request_reset(client, "carol@example.com")
    raw = token_from(outbox("password_reset")[0])
    with app.app_context():
        row = db.session.scalar(select(PasswordResetToken))
        assert row.token_hash != raw and len(row.token_hash) == 64
        assert outbox("password_reset")[0].dedupe_key == f"password_reset:{row.id}"


def test_reset_sets_password_and_kills_old_tokens(app, client, member, outbox):
    request_reset(client, member.email)
    response = confirm(client, token_from(outbox("password_reset")[0]))
    assert response.status_code == 204
    assert is_problem(client.get("/users/me", headers=member.headers), 401)
    assert is_problem(client.post("/users/refresh", headers=bearer(member.refresh_token)), 401)
    assert is_problem(client.post("/users/login", json={"email": member.email, "password": PASSWORD}), 401)
    assert client.post("/users/login", json={"email": member.email, "password": NEW}).status_code == 200


def test_token_works_once(app, client, outbox):
    create_user(app, "carol")
    request_reset(client, "carol@example.com")
    token = token_from(outbox("password_reset")[0])
    assert confirm(client, token).status_code == 204
    second = confirm(client, token, "yet another password")
    assert is_problem(second, 400)
    assert "token" in second.get_json()["errors"]


def test_expired_token_is_400(app, client, outbox):
    create_user(app, "carol")
    request_reset(client, "carol@example.com")
    token = token_from(outbox("password_reset")[0])
    clock.advance(timedelta(minutes=app.config["PASSWORD_RESET_MINUTES"], seconds=1))
    assert is_problem(confirm(client, token), 400)


def test_token_just_before_expiry_works(app, client, outbox):
    create_user(app, "carol")
    request_reset(client, "carol@example.com")
    clock.advance(timedelta(minutes=app.config["PASSWORD_RESET_MINUTES"], seconds=-5))
    assert confirm(client, token_from(outbox("password_reset")[0])).status_code == 204


def test_using_one_token_voids_the_others(app, client, outbox):
    create_user(app, "carol")
    request_reset(client, "carol@example.com")
    request_reset(client, "carol@example.com")
    first, second = (token_from(r) for r in outbox("password_reset"))
    assert first != second
    assert confirm(client, second).status_code == 204
    assert is_problem(confirm(client, first), 400)


@pytest.mark.parametrize("change", [{"email": "moved@example.com"}, {"password": "changed in between"}])
def test_a_link_mailed_before_an_email_or_password_change_is_void(app, client, member, outbox, change):
    # A member leaving a compromised mailbox: what it received must not open the account.
    request_reset(client, member.email)
    token = token_from(outbox("password_reset")[0])
    patched = client.patch("/users/me", headers=member.headers, json={**change, "current_password": PASSWORD})
    assert patched.status_code == 200, patched.get_json()
    assert is_problem(confirm(client, token), 400)


def test_a_link_mailed_before_an_admin_moves_or_deactivates_is_void(app, client, member, admin, outbox):
    for change in ({"email": "desk-moved@example.com"}, {"is_active": False}):
        request_reset(client, member.email if "email" in change else "desk-moved@example.com")
        token = token_from(outbox("password_reset")[-1])
        assert client.patch(f"/users/{member.id}", headers=admin.headers, json=change).status_code == 200
        assert is_problem(confirm(client, token), 400)


def test_a_change_of_username_keeps_the_link(app, client, member, outbox):
    request_reset(client, member.email)
    token = token_from(outbox("password_reset")[0])
    assert client.patch("/users/me", headers=member.headers, json={"username": "renamed"}).status_code == 200
    assert confirm(client, token).status_code == 204


def test_unknown_token_is_400(client):
    assert is_problem(confirm(client, "made-up-token"), 400)


def test_inactive_user_gets_no_email(app, client, outbox):
    create_user(app, "carol", is_active=False)
    assert request_reset(client, "carol@example.com").status_code == 202
    assert outbox("password_reset") == []


def test_confirm_validates_the_new_password(app, client, outbox):
    create_user(app, "carol")
    request_reset(client, "carol@example.com")
    token = token_from(outbox("password_reset")[0])
    response = confirm(client, token, "short")
    assert is_problem(response, 400)
    assert "password" in response.get_json()["errors"]
    # A refused request did not use the token up.
    assert confirm(client, token).status_code == 204


def test_bad_reset_input(client):
    assert is_problem(client.post("/users/password-reset", json={}), 400)
    assert is_problem(client.post("/users/password-reset", json={"email": 5}), 400)
    assert is_problem(client.post("/users/password-reset", data="x", content_type="text/plain"), 415)
    assert is_problem(client.post("/users/password-reset/confirm", json={"token": "x"}), 400)
    assert is_problem(confirm(client, "x" * 500), 400)
    assert is_problem(confirm(client, "tok\ud800en"), 400)


def test_reset_request_is_rate_limited(app, client):
    limit = int(app.config["RATELIMIT_PASSWORD_RESET"].split()[0])
    statuses = [request_reset(client, f"n{i}@example.com").status_code for i in range(limit + 1)]
    assert statuses[-1] == 429 and set(statuses[:-1]) == {202}


def test_the_account_is_looked_up_after_the_answer_is_sent(app, client):
    # Known or not, the answer leaves before any lookup or write, so its timing says
    # nothing about which addresses have accounts (the work runs when it is closed).
    create_user(app, "carol")

    def tokens() -> int:
        with app.app_context():
            return len(db.session.scalars(select(PasswordResetToken)).all())

    response = client.post("/users/password-reset", json={"email": "carol@example.com"}, buffered=False)
    assert response.status_code == 202 and tokens() == 0
    response.close()
    assert tokens() == 1
