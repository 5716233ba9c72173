"""OpenAPI 3 document served by flasgger at /apispec.json and /apidocs.

Paths come from the views' docstrings (YAML after `---`). Component schemas come
from the marshmallow schemas themselves, through apispec's MarshmallowPlugin, so
each schema is defined once: decorate it with `@doc_schema` and reference it as
`$ref: '#/components/schemas/<ClassName>'`. Errors every operation can answer
(429, 500, 503; 400/413/415 with a body; 401 with a token) are added by
`LibrarySwagger`, so docstrings list only their own.

Short keys (`x-body`, `x-response`, `x-errors`) stand for the blocks every route file
would repeat, and `<int:...>` path parameters come from the URL rules: see
api/docs_shorthand.py.

Query parameters are generated too: an operation names the schema its view loads
with `x-query-schema: BookQuery`, and `LibrarySwagger` writes one parameter per
field (its type and limits from apispec's converter), with the `PageArgs` fields as
`$ref`s to the shared `Page`/`PerPage` components (themselves generated from
`PageArgs`). A docstring may still list such a parameter by name to give it a
`description`, never its `schema` (that would be a second source that can drift).
"""

from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from flasgger import Swagger
from flasgger.constants import OPTIONAL_FIELDS
from flask import Flask

from api.docs_shorthand import error_response, expand, integer_path_arguments
from api.errors import REFUSAL_CODES

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
        "code": {"type": "string", "enum": sorted(REFUSAL_CODES),
                 "description": "On a 409, why (SPEC \"Refusals\"); clients switch on it, never on "
                                "`detail`. " + "; ".join(f"`{c}`: {m}" for c, m in REFUSAL_CODES.items())},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
}

RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}

# The PageArgs field behind each shared list parameter ($ref: '#/components/parameters/Page').
PAGE_PARAMETERS = {"page": "Page", "per_page": "PerPage", "after": "After"}

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
COMMON_RESPONSES = (429, 500, 503)
# ...and what every operation with a JSON body, or with a token, can answer.
BODY_RESPONSES = (400, 413, 415)
AUTH_RESPONSES = (401,)
NOT_RATE_LIMITED = ("/health",)


@cache
def converter() -> OpenAPIConverter:
    """apispec's field -> OpenAPI converter (nested schemas are not expected in queries)."""
    return OpenAPIConverter("3.0.3", lambda schema: None,
                            APISpec("converter", "1", "3.0.3", plugins=[MarshmallowPlugin()]))


def page_parameters() -> dict:
    from api.pagination import PageArgs  # api.pagination documents its schemas here

    generated = {p["name"]: p for p in _schema_parameters(PageArgs)}
    return {ref: generated[name] for name, ref in PAGE_PARAMETERS.items()}


def _schema_parameters(schema) -> list[dict]:
    parameters = converter().schema2parameters(schema, location="query")
    for parameter in parameters:
        if parameter.get("required") is False:  # the default; keeps the spec short
            del parameter["required"]
    return parameters


def query_parameters(schema_name: str, written: list[dict]) -> list[dict]:
    """The parameters of an operation whose view loads the query schema `schema_name`:
    one per field, then the docstring's other (path, header) parameters."""
    schema = _SCHEMAS[schema_name]
    descriptions = {}
    others = []
    fields = schema().fields
    for parameter in written:
        if parameter.get("in") == "query" and parameter.get("name") in fields:
            if set(parameter) - {"in", "name", "description"}:
                raise ValueError(f"{schema_name}.{parameter['name']}: the schema comes from the "
                                 "query schema; a docstring may add only a description")
            descriptions[parameter["name"]] = parameter["description"]
        elif parameter.get("in") == "query" or "$ref" in parameter:
            raise ValueError(f"{schema_name} has no field for the documented parameter {parameter}")
        else:
            others.append(parameter)
    generated, paging = [], []
    for parameter in _schema_parameters(schema):
        name = parameter["name"]
        if name in PAGE_PARAMETERS:
            paging.append({"$ref": f"#/components/parameters/{PAGE_PARAMETERS[name]}"})
            continue
        if name in descriptions:
            parameter["description"] = descriptions[name]
        generated.append(parameter)
    return generated + paging + others


class LibrarySwagger(Swagger):
    def add_headers(self, app):
        # flasgger's hook for its `headers` setting; with none it would only loop over
        # an empty list after every request.
        if self.config.get("headers"):
            super().add_headers(app)

    def get_apispecs(self, endpoint="apispec"):
        spec = super().get_apispecs(endpoint)
        integer_arguments = integer_path_arguments(self.app)
        for path, item in spec.get("paths", {}).items():
            for operation in item.values():
                if not isinstance(operation, dict):
                    continue
                expand(operation, integer_arguments.get(path, []), spec["components"]["schemas"])
                if "responses" not in operation:
                    continue
                if "x-query-schema" in operation:
                    operation["parameters"] = query_parameters(operation.pop("x-query-schema"),
                                                               operation.get("parameters", []))
                added = list(COMMON_RESPONSES)
                if path.startswith(NOT_RATE_LIMITED):
                    added.remove(429)
                if "requestBody" in operation:
                    added += BODY_RESPONSES
                if operation.get("security"):
                    added += AUTH_RESPONSES
                for status in added:
                    operation["responses"].setdefault(str(status), error_response(status))
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
    components["parameters"] = page_parameters()
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
        # flasgger copies only the operation keys it knows; ours are replaced in get_apispecs.
        "optional_fields": [*OPTIONAL_FIELDS, "x-query-schema", "x-body", "x-response",
                            "x-errors"],
    }
    LibrarySwagger(app, config=config, template=build_template(app), merge=True)
