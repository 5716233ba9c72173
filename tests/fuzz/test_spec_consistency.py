"""The spec says what the views enforce: the hand-written YAML must not drift from
the marshmallow schemas the views load, or fuzzers and clients are misled.

Bodies are safe by construction (components come from the same schemas); query
parameters are written by hand in each docstring, so they are compared here.
"""

import re

import pytest
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.openapi import OpenAPIConverter

from api import create_app
from api.admin.schemas import NotificationQuery, TaskRunQuery
from api.audit.schemas import AuditQuery
from api.books.schemas import BookQuery
from api.holds.schemas import HoldAdminQuery
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
    "GET /admin/notifications": NotificationQuery,
    "GET /admin/audit": AuditQuery,
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
