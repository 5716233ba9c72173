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


# Every 409's `code` (SPEC "Refusals"), with what it means; the OpenAPI spec lists them
# from here and tests/core/test_refusal_codes.py checks that no 409 uses another.
REFUSAL_CODES = {
    "no_copy_available": "No copy of the book is free.",
    "already_borrowed": "The member already has this book (or item) on loan.",
    "loan_limit": "The member holds their loan limit (overall or for this item type).",
    "has_overdue": "The member has an overdue loan.",
    "balance_limit": "The member owes more than their rule's max_balance.",
    "patron_blocked": "An admin block is in force.",
    "account_inactive": "The member's account is deactivated.",
    "renewal_limit": "The loan has been renewed the most times allowed.",
    "loan_overdue": "The loan is overdue: return it instead of renewing.",
    "loan_returned": "The loan is already returned.",
    "loan_changed": "The loan changed meanwhile; try again.",
    "reserved_for_other": "Another member is waiting for the book.",
    "item_unavailable": "The item is not on the shelf (or not on loan, at check-in).",
    "item_in_use": "The item is on loan or on the hold shelf.",
    "items_in_use": "Not enough copies are on the shelf to withdraw or delete.",
    "hold_not_needed": "A copy is free: borrow it instead of placing a hold.",
    "hold_closed": "The hold is no longer open.",
    "hold_not_waiting": "Only a waiting hold can be suspended or resumed.",
    "duplicate": "Something with that name, email, ISBN, barcode or pair already exists.",
    "last_admin": "The change would leave no active admin.",
    "has_active_loans": "Loans are still open.",
    "balance_outstanding": "The member owes money: collect or waive it before deleting them.",
    "payment_exceeds_balance": "The payment is more than the balance.",
    "waiver_exceeds_balance": "The waiver is more than the balance.",
    "default_rule": "The */* rule cannot be deleted.",
    "calendar_all_closed": "The library cannot be closed on every weekday.",
    "task_finished": "The run has finished: nothing to cancel.",
    "task_not_retryable": "Only failed or cancelled runs can be retried.",
}


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
