"""The limiter's fast path (api/ratelimit_plan.py) counts exactly as Flask-Limiter does."""

import pytest

from api.ratelimit_plan import NO_PLAN


def _full_path_only(app):
    plans = app.extensions.get("ratelimit_plans", {})
    for key in plans:
        plans[key] = NO_PLAN


def test_plan_and_full_path_share_one_bucket(small_app):
    client = small_app.test_client()
    first = client.get("/books")
    plans = small_app.extensions["ratelimit_plans"]
    assert any(plans.values()), "a default-only route takes the fast path"
    _full_path_only(small_app)
    second = client.get("/books")
    assert [first.headers["X-RateLimit-Remaining"], second.headers["X-RateLimit-Remaining"]] == ["2", "1"]
    small_app.extensions["ratelimit_plans"].clear()
    assert client.get("/books").headers["X-RateLimit-Remaining"] == "0"
    assert client.get("/books").status_code == 429


def test_decorated_routes_take_the_full_path(small_app):
    client = small_app.test_client()
    client.post("/users/login", json={"email": "a@example.com", "password": "wrong password"})
    plans = small_app.extensions["ratelimit_plans"]
    assert [plan for (endpoint, *_), plan in plans.items() if endpoint == "users.login"] == [NO_PLAN]


def test_a_changed_limit_string_is_parsed_again(small_app):
    client = small_app.test_client()
    assert client.get("/books").headers["X-RateLimit-Limit"] == "3"
    small_app.config["RATELIMIT_DEFAULT"] = "7 per minute"
    assert client.get("/books").headers["X-RateLimit-Limit"] == "7"


def commands(redis_client) -> dict:
    stats = redis_client.info("commandstats")
    return {name: s["calls"] for name, s in stats.items() if name != "cmdstat_info"}


@pytest.mark.parametrize("url", ["/books?per_page=2", "/books/{book_id}"])
def test_a_cache_hit_is_one_round_trip_for_the_limit_and_the_entry(
        small_app, make_book, redis_client, round_trips, url):
    url = url.format(book_id=make_book())
    client = small_app.test_client()
    first = client.get(url)
    before = commands(redis_client)
    round_trips.clear()
    hit = client.get(url)
    trips = len(round_trips)
    after = commands(redis_client)
    assert hit.status_code == 200 and hit.get_data() == first.get_data()
    assert trips == 1
    delta = {name: n - before.get(name, 0) for name, n in after.items() if n != before.get(name, 0)}
    # Still one command per limit (the EVALSHA), which also reads version and entry.
    assert delta.pop("cmdstat_evalsha") == 1
    assert set(delta) <= {"cmdstat_incrby", "cmdstat_expire", "cmdstat_pttl", "cmdstat_mget"}
    assert [first.headers["X-RateLimit-Remaining"], hit.headers["X-RateLimit-Remaining"]] == ["2", "1"]
    assert client.get(url).status_code == 200
    breached = client.get(url)
    assert breached.status_code == 429 and breached.headers["Retry-After"]


def test_a_breach_on_a_miss_runs_no_sql(small_app, make_book, count_sql):
    client = small_app.test_client()
    book_id = make_book()
    assert [client.get(f"/books/{book_id}?n={n}").status_code for n in range(3)] == [200] * 3
    statements = count_sql(on=small_app)
    assert client.get(f"/books/{book_id}?n=3").status_code == 429
    assert statements == []


def test_a_lost_script_is_loaded_again_and_the_hit_counted(small_app, redis_client):
    client = small_app.test_client()
    assert client.get("/books").headers["X-RateLimit-Remaining"] == "2"
    redis_client.script_flush()  # as after a Redis restart
    again = client.get("/books")
    assert again.status_code == 200 and again.headers["X-RateLimit-Remaining"] == "1"


def test_a_request_the_view_never_sees_still_counts(small_app):
    client = small_app.test_client()
    assert client.options("/books").status_code == 200
    assert client.get("/books").headers["X-RateLimit-Remaining"] == "1"
