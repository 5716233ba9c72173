"""The app and its spec at collection time, for tests parametrized over every route.

Building the app and serving /apispec.json touch neither the database nor Redis,
so the addresses can point nowhere.
"""

from functools import cache

from api import create_app


@cache
def offline_app():
    return create_app("testing", REDIS_URL="redis://127.0.0.1:1/0", SQLALCHEMY_DATABASE_URI="sqlite://")


@cache
def offline_spec() -> dict:
    return offline_app().test_client().get("/apispec.json").get_json()


def operations_with_a_body() -> list[tuple[str, str]]:
    """(METHOD, url-map rule) of every operation documented with a JSON request body."""
    import re

    rules = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.rule): r.rule for r in offline_app().url_map.iter_rules()}
    return sorted((method.upper(), rules[path]) for path, item in offline_spec()["paths"].items()
                  for method, op in item.items()
                  if "application/json" in op.get("requestBody", {}).get("content", {}))
