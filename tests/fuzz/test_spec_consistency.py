"""The spec says what the views enforce, or fuzzers and clients are misled.

Bodies and query parameters are generated from the marshmallow schemas the views
load (components by apispec; query parameters by `api.docs.query_parameters` from
each docstring's `x-query-schema`). These tests check the generator: every list
names its schema, each documented parameter is what the converter makes of the
field, and a docstring cannot give a generated parameter a schema of its own.
"""

import re

import pytest
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.openapi import OpenAPIConverter

from api import create_app
from api.accounts.schemas import AccountLinesQuery
from api.admin.schemas import NotificationQuery, TaskMessageQuery, TaskRunQuery
from api.audit.schemas import AuditQuery
from api.blocks.schemas import BlocksQuery
from api.books.schemas import BookQuery
from api.docs import query_parameters
from api.holds.schemas import HoldAdminQuery
from api.items.schemas import ItemAdminQuery, ItemQuery
from api.loans.schemas import LoanAdminQuery
from api.rules.schemas import RuleQuery
from api.users.schemas import UserListQuery

# The widest schema each list view loads (admins get the superset of members' filters).
QUERY_SCHEMAS = {
    "GET /users": UserListQuery,
    "GET /books": BookQuery,
    "GET /loans": LoanAdminQuery,
    "GET /holds": HoldAdminQuery,
    "GET /admin/tasks": TaskRunQuery,
    "GET /admin/tasks/{task}/messages": TaskMessageQuery,
    "GET /admin/notifications": NotificationQuery,
    "GET /admin/audit": AuditQuery,
    "GET /users/me/account/lines": AccountLinesQuery,
    "GET /users/{user_id}/account/lines": AccountLinesQuery,
    "GET /users/{user_id}/blocks": BlocksQuery,
    "GET /items": ItemAdminQuery,
    "GET /books/{book_id}/items": ItemQuery,
    "GET /admin/rules": RuleQuery,
}
COMPARED = ("type", "minimum", "maximum", "minLength", "maxLength", "enum")


def _spec() -> dict:
    app = create_app("testing", REDIS_URL="redis://127.0.0.1:1/0", SQLALCHEMY_DATABASE_URI="sqlite://")
    return app.test_client().get("/apispec.json").get_json()


SPEC = _spec()
CONVERTER = OpenAPIConverter("3.0.3", lambda schema: None,
                             APISpec("x", "1", "3.0.3", plugins=[MarshmallowPlugin()]))


def _parameters(operation: dict) -> list[dict]:
    """The operation's parameters with `$ref: '#/components/parameters/X'` resolved."""
    shared = SPEC["components"].get("parameters", {})
    return [shared[p["$ref"].rsplit("/", 1)[-1]] if "$ref" in p else p
            for p in operation.get("parameters", [])]


def _operations():
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def test_every_paginated_list_is_compared():
    lists = {label for label, op in _operations()
             if any(p["name"] == "page" for p in _parameters(op))}
    assert lists == set(QUERY_SCHEMAS)


@pytest.mark.parametrize("label", sorted(QUERY_SCHEMAS))
def test_documented_query_parameters_match_the_schema(label):
    method, path = label.split(" ")
    documented = {p["name"]: p["schema"] for p in _parameters(SPEC["paths"][path][method.lower()])
                  if p["in"] == "query"}
    fields = QUERY_SCHEMAS[label]().fields
    assert set(documented) == set(fields)
    for name, field in fields.items():
        wanted = {k: v for k, v in CONVERTER.field2property(field).items() if k in COMPARED}
        got = {k: v for k, v in documented[name].items() if k in COMPARED}
        assert got == wanted, name


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_no_two_paths_differ_only_in_parameter_names():
    shapes = [_shape(path) for path in SPEC["paths"]]
    assert sorted(s for s in shapes if shapes.count(s) > 1) == []


def _prop(schema: str, name: str) -> dict:
    return SPEC["components"]["schemas"][schema]["properties"][name]


def _query(path: str, name: str) -> dict:
    return next(p["schema"] for p in _parameters(SPEC["paths"][path]["get"]) if p["name"] == name)


def test_catalog_spec_states_the_limits_the_views_enforce():
    for schema in ("BookIn", "BookPatch"):
        assert _prop(schema, "title").get("minLength") == 1
        assert _prop(schema, "author").get("minLength") == 1
        assert _prop(schema, "published_year").get("minimum") == 1000
    assert _query("/books", "q").get("minLength") == 1
    assert _query("/books", "author").get("minLength") == 1


def test_a_docstring_cannot_write_a_generated_parameter_schema():
    with pytest.raises(ValueError, match="only a description"):
        query_parameters("BookQuery", [{"in": "query", "name": "q", "schema": {"type": "string"}}])
    with pytest.raises(ValueError, match="has no field"):
        query_parameters("BookQuery", [{"in": "query", "name": "nonsense", "description": "x"}])
    with pytest.raises(ValueError, match="has no field"):
        query_parameters("BookQuery", [{"$ref": "#/components/parameters/Page"}])


def test_docstring_descriptions_and_other_parameters_are_kept():
    written = [{"in": "query", "name": "q", "description": "Said here."},
               {"in": "header", "name": "If-None-Match", "schema": {"type": "string"}}]
    generated = query_parameters("BookQuery", written)
    assert next(p for p in generated if p.get("name") == "q")["description"] == "Said here."
    assert generated[-1] == written[1]
    assert {"$ref": "#/components/parameters/Page"} in generated
