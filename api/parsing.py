"""Reading request bodies and query strings through marshmallow schemas."""

from typing import Any

from flask import request
from marshmallow import Schema
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from api.errors import BadRequest


def json_body(schema: Schema) -> dict[str, Any]:
    """Load the JSON body: 415 when it is not JSON, 400 when malformed or invalid."""
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as application/json.")
    data = load_json_or_none()
    if data is None:
        raise BadRequest("The body is not valid JSON.")
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    return schema.load(data)


def optional_json_body(schema: Schema) -> dict[str, Any]:
    """`json_body` for an operation whose body may be left out: an empty body is {},
    whatever its Content-Type (many clients send `application/json` on every POST)."""
    if not whole_body():
        return {}
    return json_body(schema)


def load_json_or_none() -> Any:
    """The parsed JSON body, or None when it cannot be parsed.

    `get_json(silent=True)` only absorbs ValueError, but the json module recurses per
    nesting level: `[[[[...]]]]` 30,000 deep fits in MAX_CONTENT_LENGTH and raises
    RecursionError, which would otherwise be a 500.
    """
    whole_body()  # read (and kept) first: a body over the limit is a 413, not "not JSON"
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None


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
