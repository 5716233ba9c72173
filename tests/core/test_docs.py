"""The OpenAPI document is valid and covers every route the app serves."""

import re

from openapi_spec_validator import validate


def undocumented(endpoint: str) -> bool:
    # Flask's static files and flasgger's own UI and spec routes.
    return endpoint == "static" or endpoint.startswith("flasgger.")


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_spec_is_valid_openapi(client):
    response = client.get("/apispec.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    validate(spec)


def test_every_route_and_method_is_documented(app, client):
    paths = client.get("/apispec.json").get_json()["paths"]
    missing = []
    for rule in app.url_map.iter_rules():
        if undocumented(rule.endpoint):
            continue
        path = openapi_path(rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = paths.get(path, {}).get(method.lower())
            if not operation or not operation.get("responses"):
                missing.append(f"{method} {path}")
    assert not missing, f"undocumented operations: {sorted(missing)}"


def test_problem_responses_use_problem_json(client):
    spec = client.get("/apispec.json").get_json()
    for name, response in spec["components"]["responses"].items():
        assert "application/problem+json" in response["content"], name


def test_swagger_ui_is_served(client):
    response = client.get("/apidocs/")
    assert response.status_code == 200
    assert "swagger" in response.get_data(as_text=True).lower()
