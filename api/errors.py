"""RFC 9457 problem details: the single place where errors become responses.

Views raise; nothing here is caught in a view. Every error, including Werkzeug's
404/405/413/415 and unexpected exceptions, leaves as application/problem+json.
"""

import logging
from http import HTTPStatus

from flask import Flask, Response, json
from marshmallow import ValidationError
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

PROBLEM_MIMETYPE = "application/problem+json"


class ApiError(Exception):
    """An error with an HTTP status; raise it (or a subclass) from anywhere."""

    status = 400

    def __init__(self, detail: str, *, status: int | None = None, errors: dict | None = None,
                 headers: dict | None = None, code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        self.errors = errors
        self.headers = headers or {}
        # Machine-readable reason clients switch on (SPEC "Refusals"); never the detail text.
        self.code = code


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401

    def __init__(self, detail: str = "Missing, invalid or expired token.", **kw):
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="library"'})
        super().__init__(detail, **kw)


class Forbidden(ApiError):
    status = 403

    def __init__(self, detail: str = "You are not allowed to do this.", **kw):
        super().__init__(detail, **kw)


class NotFound(ApiError):
    status = 404

    def __init__(self, detail: str = "Not found.", **kw):
        super().__init__(detail, **kw)


class Conflict(ApiError):
    """409; always raise it with a `code` from SPEC "Refusals" (e.g. "no_copy_available")."""

    status = 409


class ServiceUnavailable(ApiError):
    status = 503


def problem(status: int, detail: str | None = None, *, title: str | None = None,
            errors: dict | None = None, headers: dict | None = None,
            code: str | None = None) -> Response:
    phrase = HTTPStatus(status).phrase
    body = {
        "type": "about:blank",
        "title": title or phrase,
        "status": status,
        "detail": detail or phrase,
    }
    if code:
        body["code"] = code
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _field_errors(messages) -> dict:
    """marshmallow gives {field: [msgs]} or nested dicts; problem+json wants lists."""
    if isinstance(messages, list):
        return {"_schema": [str(m) for m in messages]}
    return {str(k): v if isinstance(v, list) else [v] for k, v in messages.items()}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(e: ApiError):
        return problem(e.status, e.detail, errors=e.errors, headers=e.headers, code=e.code)

    @app.errorhandler(ValidationError)
    def validation_error(e: ValidationError):
        return problem(400, "The request has invalid fields.", title="Invalid input",
                       errors=_field_errors(e.messages))

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        # Keep headers Werkzeug and extensions set (Allow on 405, Retry-After on 429).
        headers = {k: v for k, v in e.get_response().headers.items() if k.lower() != "content-type"
                   and k.lower() != "content-length"}
        detail = e.description if e.code != 500 else None
        return problem(e.code or 500, detail, headers=headers)

    @app.errorhandler(RedisError)
    def redis_down(e: RedisError):
        log.warning("Redis unavailable: %s", e)
        return problem(503, "A required service (Redis) is unavailable. Try again shortly.",
                       headers={"Retry-After": "5"})

    @app.errorhandler(OperationalError)
    def database_down(e: OperationalError):
        log.warning("Database unavailable: %s", e)
        return problem(503, "The database is unavailable. Try again shortly.",
                       headers={"Retry-After": "5"})

    @app.errorhandler(InternalServerError)
    def internal_error(e: InternalServerError):
        original = getattr(e, "original_exception", None)
        if original is not None:
            log.error("Unhandled error", exc_info=original)
        return problem(500, "An unexpected error occurred.")
