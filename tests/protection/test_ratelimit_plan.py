"""The limiter's fast path (api/ratelimit_plan.py) counts exactly as Flask-Limiter does."""

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
