"""Docstring shorthand that api.docs.LibrarySwagger expands in /apispec.json.

Three short keys stand for the blocks every route file would repeat:

    x-body: LoanAdminIn
    x-response: {201: LoanOut, description: The new loan., location: URL of the loan.}
    x-errors: [404, 409]

`x-body` is a required JSON request body of that schema (an optional or other body
is written out as `requestBody`). `x-response` is the success response: its one
numeric key is the status and names the marshmallow schema of the JSON body;
`description` is required; `location: <its description>` adds a Location header and
`link: true` (or `link: <its description>`) a Link header. `x-errors` lists the other
errors the operation can answer, each as the shared `#/components/responses/...` of
its status (`ERROR_RESPONSES`). Anything else (no body, other media types or headers)
is written out under `responses`, which both keys add to.

Path parameters of the `<int:...>` converter are generated from the URL rule; a
docstring writes only the others (string ones, with their description).
"""

import re

from flask import Flask

# The shared response of each error status (`x-errors: [404]` and the ones every
# operation gets, api.docs.COMMON_RESPONSES and the like).
ERROR_RESPONSES = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
    413: "PayloadTooLarge", 415: "UnsupportedMediaType", 429: "TooManyRequests",
    500: "InternalServerError", 503: "ServiceUnavailable",
}


def success_response(short: dict, schemas: dict) -> tuple[str, dict]:
    """The status and response object an operation's `x-response` stands for."""
    short = dict(short)
    response = {"description": short.pop("description")}
    headers = {}
    if "location" in short:
        headers["Location"] = {"schema": {"type": "string"}, "description": short.pop("location")}
    if "link" in short:
        link = short.pop("link")
        headers["Link"] = {"schema": {"type": "string"}} | ({} if link is True else {"description": link})
    if len(short) != 1 or not isinstance(status := next(iter(short)), int):
        raise ValueError(f"x-response: one `<status>: <schema>` besides description, location "
                         f"and link, got {short}")
    if short[status] not in schemas:
        raise ValueError(f"x-response: no component schema {short[status]!r}")
    if headers:
        response["headers"] = headers
    response["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{short[status]}"}}}
    return str(status), response


def error_response(status: int) -> dict:
    return {"$ref": f"#/components/responses/{ERROR_RESPONSES[status]}"}


def integer_path_arguments(app: Flask) -> dict[str, list[str]]:
    """OpenAPI path -> the names of its `<int:...>` arguments, in URL order."""
    return {re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule): re.findall(r"<int:(\w+)>", rule.rule)
            for rule in app.url_map.iter_rules()}


def path_parameters(names: list[str], written: list[dict]) -> list[dict]:
    """The operation's parameters, led by a generated one per integer path argument
    the docstring does not write."""
    own = {p.get("name") for p in written if p.get("in") == "path"}
    return [{"in": "path", "name": name, "required": True, "schema": {"type": "integer"}}
            for name in names if name not in own] + written


def expand(operation: dict, integer_arguments: list[str], schemas: dict) -> None:
    """Replace the operation's shorthand keys with what they stand for, in place."""
    if parameters := path_parameters(integer_arguments, operation.get("parameters", [])):
        operation["parameters"] = parameters
    if "x-body" in operation:
        operation["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{operation.pop('x-body')}"}}}}
    if "x-response" in operation:
        status, response = success_response(operation.pop("x-response"), schemas)
        operation.setdefault("responses", {})[status] = response
    for status in operation.pop("x-errors", ()):
        operation.setdefault("responses", {})[str(status)] = error_response(status)
