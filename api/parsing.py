"""Reading request bodies and query strings through marshmallow schemas."""

from typing import Any

from flask import current_app, request
from marshmallow import Schema
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from api.errors import BadRequest


def json_body(schema: Schema) -> dict[str, Any]:
    """Load the JSON body: 415 when it is not JSON, 400 when malformed or invalid."""
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as application/json.")
    data = parsed_json()
    if data is MALFORMED:
        raise BadRequest("The body is not valid JSON.")
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    return schema.load(data)


def json_object_if_sent(schema: Schema) -> dict[str, Any]:
    """For an operation whose body v1 never read (renew): a JSON object is loaded; any
    other body (none, another content type, JSON that is not an object) is {}, as v1
    took it. Only a body sent as JSON that does not parse is a 400: it cannot be told
    from an object the client meant."""
    data = parsed_json()
    if data is MALFORMED and whole_body():
        raise BadRequest("The body is not valid JSON.")
    return schema.load(data) if isinstance(data, dict) else {}


MALFORMED = object()


def parsed_json() -> Any:
    """The body parsed as JSON; None when it is not sent as JSON, MALFORMED when it does
    not parse.

    Parsed here rather than by `get_json(silent=True)`, which answers None for a
    malformed body and for `null` alike, and only absorbs ValueError, while the json
    module recurses per nesting level: `[[[[...]]]]` 30,000 deep fits in
    MAX_CONTENT_LENGTH and raises RecursionError, which would otherwise be a 500.
    """
    body = whole_body()  # read first: a body over the limit is a 413, not "not JSON"
    if not request.is_json:
        return None
    try:
        return current_app.json.loads(body)
    except (ValueError, RecursionError):
        return MALFORMED


def whole_body() -> bytes:
    """The request body, read and kept for get_json; 413 over MAX_CONTENT_LENGTH.

    Werkzeug refuses a declared Content-Length over the limit, but a chunked body
    (no Content-Length; gunicorn marks the input terminated) is only cut off at the
    limit, and the JSON parser would then call the truncated body malformed. So when
    a chunked body fills the limit, one more byte of the raw input tells whether it
    went past it."""
    data = request.get_data(cache=True)
    limit = request.max_content_length
    if (request.content_length is None and limit is not None and len(data) >= limit
            and request.environ["wsgi.input"].read(1)):
        raise RequestEntityTooLarge()
    return data


def query_args(schema: Schema) -> dict[str, Any]:
    """Load the query string; repeated keys are refused rather than silently merged."""
    args = {}
    for key, values in request.args.lists():
        if len(values) > 1:
            raise BadRequest(f"Query parameter {key!r} is given more than once.",
                             errors={key: ["Give this parameter once."]})
        args[key] = values[0]
    return schema.load(args)
