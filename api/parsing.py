"""Reading request bodies and query strings through marshmallow schemas."""

from typing import Any

from flask import request
from marshmallow import Schema
from werkzeug.exceptions import UnsupportedMediaType

from api.errors import BadRequest


def json_body(schema: Schema) -> dict[str, Any]:
    """Load the JSON body: 415 when it is not JSON, 400 when malformed or invalid."""
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as application/json.")
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequest("The body is not valid JSON.")
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    return schema.load(data)


def query_args(schema: Schema) -> dict[str, Any]:
    """Load the query string; repeated keys are refused rather than silently merged."""
    args = {}
    for key, values in request.args.lists():
        if len(values) > 1:
            raise BadRequest(f"Query parameter {key!r} is given more than once.",
                             errors={key: ["Give this parameter once."]})
        args[key] = values[0]
    return schema.load(args)
