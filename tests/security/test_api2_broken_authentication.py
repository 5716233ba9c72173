"""API2:2023 Broken Authentication.

Tokens are verified strictly (signature, algorithm, type, expiry, revocation, the
user's current state); credentials are guessed only slowly and reveal nothing.
"""

from datetime import timedelta

import jwt
import pytest

from api import clock
from tests.helpers import bearer, create_user, is_problem


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_no_token_is_401_with_a_challenge(client):
    response = client.get("/users/me")
    assert is_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("forge", ["alg_none", "wrong_key", "hs512"])
def test_forged_tokens_are_401(client, member, forge):
    claims = _claims(member.access_token)
    claims["sub"] = str(member.id)
    if forge == "alg_none":
        token = jwt.encode(claims, key=None, algorithm="none")
    elif forge == "wrong_key":
        token = jwt.encode(claims, "another-secret-of-at-least-thirty-two-bytes", algorithm="HS256")
    else:
        token = jwt.encode(claims, "testing-secret-of-at-least-thirty-two-bytes", algorithm="HS512")
    assert is_problem(client.get("/users/me", headers=bearer(token)), 401)


def test_refresh_token_is_not_an_access_token(client, member):
    assert is_problem(client.get("/users/me", headers=bearer(member.refresh_token)), 401)


def test_expired_token_is_401(client, member):
    clock.advance(timedelta(minutes=16))
    assert is_problem(client.get("/users/me", headers=member.headers), 401)


def test_logout_revokes_access_and_refresh(client, member):
    assert client.post("/users/logout", headers=member.headers).status_code == 204
    assert is_problem(client.get("/users/me", headers=member.headers), 401)
    assert is_problem(client.post("/users/refresh", headers=bearer(member.refresh_token)), 401)


def test_refresh_token_reuse_revokes_the_session(client, member):
    first = client.post("/users/refresh", headers=bearer(member.refresh_token))
    assert first.status_code == 200
    assert is_problem(client.post("/users/refresh", headers=bearer(member.refresh_token)), 401)
    assert is_problem(client.get("/users/me", headers=bearer(first.get_json()["access_token"])), 401)


def test_deactivation_and_password_change_end_sessions(client, admin, member, other_member):
    client.patch(f"/users/{member.id}", json={"is_active": False}, headers=admin.headers)
    assert is_problem(client.get("/users/me", headers=member.headers), 401)
    response = client.patch("/users/me", json={"password": "a brand new password",
                                               "current_password": other_member.password},
                            headers=other_member.headers)
    assert response.status_code == 200
    assert is_problem(client.get("/users/me", headers=other_member.headers), 401)


def test_failed_logins_look_the_same_whatever_failed(app, client):
    create_user(app, "carol")
    create_user(app, "dave", is_active=False)
    answers = [client.post("/users/login", json={"email": email, "password": password})
               for email, password in [("carol@example.com", "wrong password"),
                                       ("nobody@example.com", "wrong password"),
                                       ("dave@example.com", "correct horse battery")]]
    assert all(is_problem(r, 401) for r in answers)
    assert len({r.get_data() for r in answers}) == 1


def test_login_is_rate_limited_with_retry_after(app, client):
    create_user(app, "erin")
    attempts = [client.post("/users/login", json={"email": "erin@example.com", "password": f"guess {n}"})
                for n in range(6)]
    assert [r.status_code for r in attempts] == [401] * 5 + [429]
    assert is_problem(attempts[-1], 429) and int(attempts[-1].headers["Retry-After"]) > 0


def test_spellings_of_one_email_share_its_login_limit(app, client):
    # Fullwidth letters and an ideographic full stop find the same account, so they
    # must not each bring a fresh budget of guesses.
    create_user(app, "frank")
    spellings = ["frank@example.com", "frank@ｅxample.com", "frank@exａmple.com", "frank@example。com",
                 "FRANK@EXAMPLE.COM", " frank@example.com"]
    answers = [client.post("/users/login", json={"email": email, "password": "a wrong guess"})
               for email in spellings]
    assert [r.status_code for r in answers] == [401] * 5 + [429]


def test_password_hashes_are_argon2id_and_never_returned(app, client, member):
    from sqlalchemy import select

    from api.extensions import db
    from api.models import User

    body = client.get("/users/me", headers=member.headers).get_data(as_text=True)
    with app.app_context():
        stored = db.session.scalar(select(User.password_hash).where(User.id == member.id))
    assert stored.startswith("$argon2id$")
    assert "argon2" not in body and "password" not in body
