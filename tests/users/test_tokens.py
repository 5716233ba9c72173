"""Token attacks, rotation with reuse detection, logout and deactivation."""

from datetime import timedelta

import jwt
import pytest

from api import clock
from tests.helpers import PASSWORD, bearer, create_user, is_problem, login


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def forge(app, claims: dict, *, key: str | None = None, alg: str = "HS256") -> str:
    return jwt.encode(claims, key or app.config["SECRET_KEY"], algorithm=alg)


def me(client, token):
    return client.get("/users/me", headers=bearer(token))


def refresh(client, token):
    return client.post("/users/refresh", headers=bearer(token))


def test_access_token_works(client, member):
    response = me(client, member.access_token)
    assert response.status_code == 200
    assert response.get_json()["id"] == member.id


def test_claims_are_present(member):
    claims = claims_of(member.access_token)
    assert {"exp", "iat", "sub", "jti", "type", "fam", "ver"} <= claims.keys()
    assert claims["type"] == "access" and claims["sub"] == str(member.id)
    assert "role" not in claims


@pytest.mark.parametrize("header", [
    {}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer x.y.z"},
    {"Authorization": "Bearer " + "a" * 5000},
])
def test_missing_or_garbage_token_is_401(client, header):
    assert is_problem(client.get("/users/me", headers=header), 401)


def test_alg_none_is_rejected(client, member):
    token = jwt.encode(claims_of(member.access_token), None, algorithm="none")
    assert is_problem(me(client, token), 401)


def test_wrong_key_is_rejected(app, client, member):
    token = forge(app, claims_of(member.access_token), key="another-secret-of-sufficient-length")
    assert is_problem(me(client, token), 401)


def test_other_hmac_algorithm_is_rejected(app, client, member):
    token = forge(app, claims_of(member.access_token), alg="HS512")
    assert is_problem(me(client, token), 401)


def test_tampered_payload_is_rejected(app, client, member, other_member):
    header, _, signature = member.access_token.split(".")
    evil = forge(app, {**claims_of(member.access_token), "sub": str(other_member.id)})
    token = ".".join([header, evil.split(".")[1], signature])
    assert is_problem(me(client, token), 401)


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "jti", "type", "fam", "ver"])
def test_missing_claim_is_rejected(app, client, member, claim):
    claims = claims_of(member.access_token)
    del claims[claim]
    assert is_problem(me(client, forge(app, claims)), 401)


@pytest.mark.parametrize("sub", ["abc", "0", "-1", "99999999999999999999999", "999"])
def test_bad_subject_is_401(app, client, member, sub):
    claims = {**claims_of(member.access_token), "sub": sub}
    assert is_problem(me(client, forge(app, claims)), 401)


def test_expired_access_token_is_rejected(app, client, member):
    clock.advance(timedelta(minutes=app.config["ACCESS_TOKEN_MINUTES"], seconds=1))
    assert is_problem(me(client, member.access_token), 401)


def test_expired_refresh_token_is_rejected(app, client, member):
    clock.advance(timedelta(days=app.config["REFRESH_TOKEN_DAYS"], seconds=1))
    assert is_problem(refresh(client, member.refresh_token), 401)


def test_refresh_token_is_not_an_access_token(client, member):
    assert is_problem(me(client, member.refresh_token), 401)
    assert is_problem(client.post("/users/logout", headers=bearer(member.refresh_token)), 401)


def test_access_token_is_not_a_refresh_token(client, member):
    assert is_problem(refresh(client, member.access_token), 401)
    # Refusing it did not harm the session.
    assert refresh(client, member.refresh_token).status_code == 200


def test_refresh_rotates_within_the_family(client, member):
    response = refresh(client, member.refresh_token)
    assert response.status_code == 200
    pair = response.get_json()
    assert pair["token_type"] == "Bearer"
    assert claims_of(pair["refresh_token"])["fam"] == claims_of(member.refresh_token)["fam"]
    assert me(client, pair["access_token"]).status_code == 200
    assert refresh(client, pair["refresh_token"]).status_code == 200


def test_refresh_reuse_revokes_the_family(client, member):
    stolen = member.refresh_token
    pair = refresh(client, stolen).get_json()
    reused = refresh(client, stolen)
    assert is_problem(reused, 401)
    # Both the thief's and the rightful client's descendants are dead now.
    assert is_problem(refresh(client, pair["refresh_token"]), 401)
    assert is_problem(me(client, pair["access_token"]), 401)
    assert is_problem(me(client, member.access_token), 401)


def test_reuse_does_not_touch_other_sessions(app, client, member):
    second = login(client, create_user(app, "carol"))
    other_session = login(client, type(member)(member.id, member.username, member.email, PASSWORD))
    refresh(client, member.refresh_token)
    refresh(client, member.refresh_token)
    assert me(client, other_session.access_token).status_code == 200
    assert me(client, second.access_token).status_code == 200


def test_logout_kills_access_and_refresh(client, member):
    response = client.post("/users/logout", headers=member.headers)
    assert response.status_code == 204
    assert is_problem(me(client, member.access_token), 401)
    assert is_problem(refresh(client, member.refresh_token), 401)


def test_logout_kills_rotated_tokens_too(client, member):
    pair = refresh(client, member.refresh_token).get_json()
    assert client.post("/users/logout", headers=bearer(pair["access_token"])).status_code == 204
    assert is_problem(refresh(client, pair["refresh_token"]), 401)


def test_deactivated_users_tokens_stop_at_once(client, member, admin):
    response = client.patch(f"/users/{member.id}", json={"is_active": False}, headers=admin.headers)
    assert response.status_code == 200
    assert is_problem(me(client, member.access_token), 401)
    assert is_problem(refresh(client, member.refresh_token), 401)
    # Reactivation does not resurrect the old tokens.
    client.patch(f"/users/{member.id}", json={"is_active": True}, headers=admin.headers)
    assert is_problem(me(client, member.access_token), 401)


def test_demoted_admin_gets_403_on_admin_routes(app, client, admin, make_member):
    second = make_member("root", role="admin")
    assert client.get("/users", headers=admin.headers).status_code == 200
    assert client.patch(f"/users/{admin.id}", json={"role": "user"},
                        headers=second.headers).status_code == 200
    # The token still says nothing about role; the database now does.
    assert is_problem(client.get("/users", headers=admin.headers), 403)
    assert me(client, admin.access_token).status_code == 200


@pytest.mark.parametrize("change", [
    {"exp": "tomorrow"}, {"iat": "now"}, {"exp": True}, {"iat": 4102444800}, {"exp": 1000},
    {"ver": 7}, {"type": "admin"},
])
def test_bad_claim_values_are_rejected(app, client, member, change):
    assert is_problem(me(client, forge(app, {**claims_of(member.access_token), **change})), 401)


def test_token_issued_after_clock_moves_still_works(app, client):
    clock.advance(timedelta(days=30))
    acct = login(client, create_user(app, "carol"))
    assert me(client, acct.access_token).status_code == 200
