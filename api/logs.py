"""Logging for the API, the worker and beat: JSON lines in production, text in development.

Standard `logging` with one small formatter, not a library: a record becomes one
JSON object with a fixed set of keys plus whatever `extra=` gave it. Every handler
carries `RequestIdFilter`, so each line names the request (or task) it belongs to,
whichever logger wrote it — ours, Flask's, gunicorn's or Celery's.

`logging_config()` is one dictConfig used by all three: gunicorn.conf.py passes it
as `logconfig_dict` (gunicorn's own loggers then propagate to the same root
handler), and Celery's `setup_logging` signal (celery_app.py) applies it instead of
letting Celery configure, and hijack, the root logger.

The access line (`library.access`) is written here once per request: method, route
template, status, duration, user id. Never headers, bodies or the query string, so
tokens and passwords have no way into the logs; a last-resort scrub also masks
anything shaped like a JWT or a bearer credential in any message.
"""

import json
import logging
import logging.config
import re
import sys
import time
from datetime import UTC, datetime

from flask import Flask, Response, g, request
from sqlalchemy import inspect

from api import request_id
from api.after_response import after_response
from config import log_format

ACCESS_LOGGER = "library.access"
access_log = logging.getLogger(ACCESS_LOGGER)

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}
_SECRETS = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}|(?i:bearer)\s+[\w.~+/=-]{8,}")
# Built once: json.dumps with options builds a new encoder for every line.
_encode = json.JSONEncoder(default=str, ensure_ascii=False).encode
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


def scrub(text: str) -> str:
    return _SECRETS.sub("[redacted]", text)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id.current() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or request_id.current(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = scrub(self.formatStack(record.stack_info))
        return _encode(entry)


class TextFormatter(logging.Formatter):
    def __init__(self, fmt: str = TEXT_FORMAT, **kwargs):
        super().__init__(fmt, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def logging_config(fmt: str | None = None, level: str = "INFO") -> dict:
    fmt = fmt or log_format()
    formatter = JsonFormatter if fmt == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"library": {"()": formatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": sys.stderr,
                                "formatter": "library", "filters": ["request_id"]}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        # gunicorn's and Celery's loggers keep no handlers of their own: one format.
        "loggers": {
            **{name: {"handlers": [], "propagate": True}
               for name in ("gunicorn.error", "gunicorn.access", "celery", "celery.task")},
            # Alembic announces each of its plugins at INFO whenever an app is created.
            "alembic.runtime.plugins": {"level": "WARNING"},
        },
    }


def setup_logging(fmt: str | None = None, level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(fmt, level))


def _user_id() -> int | None:
    """The authenticated user's id from the identity map: reading `user.id` could make
    the session load it, which fails after a database error in this request."""
    user = g.get("current_user")
    if user is None:
        return None
    identity = inspect(user).identity
    return identity[0] if identity else None


def _access_line(response: Response) -> Response:
    if not access_log.isEnabledFor(logging.INFO):
        return response
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else None
    req = request._get_current_object()  # once: each use of the proxy looks it up again
    route = req.url_rule.rule if req.url_rule is not None else None
    status = response.status_code
    # Formatted and written once the client has its response (as a server's own
    # access log is); the id is passed along: the request's binding is gone by then.
    after_response(response, access_log.info,
                   "%s %s %s %sms", req.method, route or "<unmatched>", status, duration_ms,
                   extra={"method": req.method, "route": route, "path": req.path,
                          "status": status, "duration_ms": duration_ms,
                          "user_id": _user_id(), "remote_addr": req.remote_addr,
                          "request_id": request_id.current()})
    return response


def init_access_log(app: Flask) -> None:
    app.after_request(_access_line)
