"""The OpenAPI document is valid and covers every route the app serves."""

import re

import pytest
from openapi_spec_validator import validate

from api.docs_shorthand import success_response


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


SCHEMAS = {"LoanOut": {}, "LoansPage": {}}


def test_x_response_stands_for_the_success_block():
    status, response = success_response(
        {201: "LoanOut", "description": "The new loan.", "location": "URL of the loan."}, SCHEMAS)
    assert status == "201"
    assert response == {
        "description": "The new loan.",
        "headers": {"Location": {"schema": {"type": "string"}, "description": "URL of the loan."}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LoanOut"}}},
    }
    _, page = success_response({200: "LoansPage", "description": "A page.", "link": True}, SCHEMAS)
    assert page["headers"] == {"Link": {"schema": {"type": "string"}}}
    _, page = success_response({200: "LoansPage", "description": "A page.", "link": "Pages."}, SCHEMAS)
    assert page["headers"] == {"Link": {"schema": {"type": "string"}, "description": "Pages."}}


def test_x_response_refuses_what_it_cannot_expand():
    with pytest.raises(ValueError, match="no component schema"):
        success_response({200: "LoanOutt", "description": "Typo."}, SCHEMAS)
    with pytest.raises(ValueError, match="one `<status>: <schema>`"):
        success_response({200: "LoanOut", "description": "Two.", "etag": True}, SCHEMAS)
    with pytest.raises(KeyError):
        success_response({200: "LoanOut"}, SCHEMAS)


def test_shorthand_keys_are_expanded_not_served(client):
    spec = client.get("/apispec.json").get_json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            shorthand = {"x-body", "x-response", "x-errors", "x-query-schema"}
            assert not shorthand & set(operation), f"{method} {path}"
    assert spec["paths"]["/loans"]["post"]["requestBody"] == {"required": True, "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/LoanAdminIn"}}}}
    assert spec["paths"]["/loans/{loan_id}/renew"]["post"]["parameters"] == [
        {"in": "path", "name": "loan_id", "required": True, "schema": {"type": "integer"}}]
    borrow = spec["paths"]["/loans"]["post"]["responses"]
    assert borrow["201"]["headers"]["Location"]["description"] == "URL of the loan."
    assert borrow["409"] == {"$ref": "#/components/responses/Conflict"}
