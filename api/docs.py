"""OpenAPI 3 document served by flasgger at /apispec.json and /apidocs.

Paths come from the views' docstrings (YAML after `---`). Component schemas come
from the marshmallow schemas themselves, through apispec's MarshmallowPlugin, so
each schema is defined once: decorate it with `@doc_schema` and reference it as
`$ref: '#/components/schemas/<ClassName>'`. Errors every operation can answer
(429, 500, 503; 400/413/415 with a body; 401 with a token) are added by
`LibrarySwagger`, so docstrings list only their own.
"""

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flasgger import Swagger
from flask import Flask

_SCHEMAS: dict[str, type] = {}


def doc_schema(cls):
    _SCHEMAS[cls.__name__] = cls
    return cls


def _problem_response(description: str, headers: dict | None = None) -> dict:
    response = {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if headers:
        response["headers"] = headers
    return response


PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": (
            "On a 409, why (SPEC \"Refusals\"): no_copy_available, already_borrowed, loan_limit, "
            "has_overdue, balance_limit, patron_blocked, account_inactive, renewal_limit, loan_overdue, "
            "loan_returned, loan_changed, reserved_for_other, item_unavailable, item_in_use, items_in_use, "
            "hold_not_needed, hold_closed, duplicate.")},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
}

RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}

# Every list takes these; views reference them as $ref: '#/components/parameters/Page'.
PARAMETERS = {
    "Page": {"in": "query", "name": "page", "description": "Page number, from 1.",
             "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1}},
    "PerPage": {"in": "query", "name": "per_page",
                "description": "Items per page; larger values are capped at 100.",
                "schema": {"type": "integer", "minimum": 1, "default": 20}},
}

RESPONSES = {
    "BadRequest": _problem_response("Malformed or invalid input (problem+json with `errors`)."),
    "Unauthorized": _problem_response("Missing, invalid, expired or revoked token."),
    "Forbidden": _problem_response("Authenticated, but not allowed."),
    "NotFound": _problem_response("No such resource (or not yours)."),
    "Conflict": _problem_response("Conflicts with the current state."),
    "PayloadTooLarge": _problem_response("Body larger than MAX_CONTENT_LENGTH."),
    "UnsupportedMediaType": _problem_response("The body is not application/json."),
    "TooManyRequests": _problem_response("Rate limited.", RETRY_AFTER),
    "ServiceUnavailable": _problem_response("A dependency (database, Redis, broker) is down.", RETRY_AFTER),
    "InternalServerError": _problem_response("An unexpected error (no details are given)."),
}

# Errors any operation can answer, added to every operation by LibrarySwagger so
# views document only their own. Health probes are exempt from rate limits.
COMMON_RESPONSES = {"429": "TooManyRequests", "500": "InternalServerError", "503": "ServiceUnavailable"}
# ...and what every operation with a JSON body, or with a token, can answer.
BODY_RESPONSES = {"400": "BadRequest", "413": "PayloadTooLarge", "415": "UnsupportedMediaType"}
AUTH_RESPONSES = {"401": "Unauthorized"}
NOT_RATE_LIMITED = ("/health",)


class LibrarySwagger(Swagger):
    def get_apispecs(self, endpoint="apispec"):
        spec = super().get_apispecs(endpoint)
        for path, item in spec.get("paths", {}).items():
            for operation in item.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                added = dict(COMMON_RESPONSES)
                if path.startswith(NOT_RATE_LIMITED):
                    del added["429"]
                if "requestBody" in operation:
                    added.update(BODY_RESPONSES)
                if operation.get("security"):
                    added.update(AUTH_RESPONSES)
                for code, name in added.items():
                    operation["responses"].setdefault(code, {"$ref": f"#/components/responses/{name}"})
        return spec


def build_template(app: Flask) -> dict:
    spec = APISpec(
        title="Library API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "A lending library: members, catalog, circulation and background jobs. "
                             "Errors are RFC 9457 problem details."},
    )
    for name, schema in sorted(_SCHEMAS.items()):
        # apispec registers nested schemas on its own when it meets their parent first.
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)
    template = spec.to_dict()
    components = template.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM
    components["responses"] = RESPONSES
    components["parameters"] = PARAMETERS
    components["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    }
    template.pop("paths", None)
    return template


def init_docs(app: Flask) -> None:
    config = {
        "headers": [],
        "specs": [{"endpoint": "apispec", "route": "/apispec.json",
                   "rule_filter": lambda rule: True, "model_filter": lambda tag: True}],
        "static_url_path": "/flasgger_static",
        "swagger_ui": True,
        "specs_route": "/apidocs/",
        "openapi": "3.0.3",
    }
    LibrarySwagger(app, config=config, template=build_template(app), merge=True)
