"""GET /loans: the rate-limit hit and the token's revocation check share one Redis
round trip, which overlaps the user's SELECT (api/auth.py, api/ratelimit_plan.py),
and still decide as before."""

import redis

from api import tokens
from api.extensions import db
from api.models import User
from tests.helpers import bearer, create_user


def token_for(app, user_id: int) -> dict:
    with app.app_context():
        return bearer(tokens.issue_pair(db.session.get(User, user_id))["access_token"])


def test_one_round_trip_for_the_limit_and_the_revocation_check(small_app, round_trips):
    headers = token_for(small_app, create_user(small_app, "trips").id)
    client = small_app.test_client()
    assert client.get("/loans", headers=headers).status_code == 200  # connections made, script loaded
    round_trips.clear()
    second = client.get("/loans", headers=headers)
    assert second.status_code == 200 and second.headers["X-RateLimit-Remaining"] == "1"
    assert len(round_trips) == 1


def test_a_revoked_token_is_refused_and_counted(small_app):
    headers = token_for(small_app, create_user(small_app, "revoked").id)
    client = small_app.test_client()
    assert client.post("/users/logout", headers=headers).status_code == 204
    refused = client.get("/loans", headers=headers)
    assert refused.status_code == 401 and "revoked" in refused.get_json()["detail"]
    assert refused.headers["X-RateLimit-Remaining"] == "2"  # counted (limits are per route)


def test_a_breach_comes_before_auth_and_runs_only_the_user_lookup(small_app, count_sql):
    user_id = create_user(small_app, "breach").id
    headers = token_for(small_app, user_id)
    client = small_app.test_client()
    assert [client.get("/loans", headers=headers).status_code for _ in range(3)] == [200] * 3
    statements = count_sql(on=small_app)
    assert client.get("/loans", headers=headers).status_code == 429
    (lookup,) = statements  # sent while the hit was in flight; the page never is
    assert "FROM users" in lookup and "loans" not in lookup
    with small_app.app_context():  # a 429 comes before a 401 too
        db.session.get(User, user_id).is_active = False
        db.session.commit()
    assert client.get("/loans", headers=headers).status_code == 429
    del statements[:]
    # A bad token is limited by address (its own bucket): 401 until that is spent, then 429.
    bad = {"Authorization": "Bearer not-a-token"}
    assert [client.get("/loans", headers=bad).status_code for _ in range(4)] == [401] * 3 + [429]
    assert client.get("/loans").status_code == 429
    assert statements == []


def test_a_lost_script_is_loaded_again_and_the_hit_counted_once(small_app, redis_url):
    headers = token_for(small_app, create_user(small_app, "flushed").id)
    client = small_app.test_client()
    assert client.get("/loans", headers=headers).headers["X-RateLimit-Remaining"] == "2"
    redis.Redis.from_url(redis_url).script_flush()  # as a Redis restart would
    again = client.get("/loans", headers=headers)
    assert again.status_code == 200 and again.headers["X-RateLimit-Remaining"] == "1"
