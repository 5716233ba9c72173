"""Request ids: accepted or made at the edge, carried into Celery tasks and emails.

One contextvar holds the id of the work in hand: the HTTP request in the API, the
task in a worker. Logging (api/logs.py), the outbox (api/notify.py) and the Celery
publish hook read it, so nothing has to pass it around by hand.

- A valid incoming `X-Request-ID` (1-128 of A-Za-z0-9._-) is kept; anything else is
  replaced by a fresh uuid4 hex, so a client cannot inject log syntax or huge values.
- `before_task_publish` copies the current id into the message headers; `task_prerun`
  restores it in the worker (a task published with none, e.g. by beat, runs under its
  own task id so its log lines and emails still share one id).
"""

import re
import time
import uuid
from contextvars import ContextVar

from celery.signals import before_task_publish, task_postrun, task_prerun
from flask import Flask, Response, g, request

HEADER = "X-Request-ID"
CELERY_HEADER = "request_id"
VALID = re.compile(r"[A-Za-z0-9._-]{1,128}\Z")

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current() -> str | None:
    """The id of the request or task being handled, or None outside of one."""
    return _current.get()


def bind(value: str | None):
    """Make `value` the current id; returns the token for `reset`."""
    return _current.set(value)


def reset(token) -> None:
    _current.reset(token)


def accept(value: str | None) -> str:
    """The client's id if it is valid, else a new one."""
    if value and VALID.match(value):
        return value
    return uuid.uuid4().hex


def _start() -> None:
    g.request_started = time.perf_counter()
    g.request_id_token = bind(accept(request.headers.get(HEADER)))


def _stamp(response: Response) -> Response:
    # A hook registered before ours may have failed, so the id may not be bound yet.
    if current() is None:
        _start()
    response.headers[HEADER] = current()
    return response


def _end(_exc=None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        reset(token)


def init_request_id(app: Flask) -> None:
    # First in the before_request chain: every later hook (the limiter's 429 too)
    # already logs under the id.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_stamp)
    app.teardown_request(_end)
    connect_celery_signals()


def connect_celery_signals() -> None:
    before_task_publish.connect(_add_header, weak=False, dispatch_uid="request_id.publish")
    task_prerun.connect(_restore, weak=False, dispatch_uid="request_id.prerun")
    task_postrun.connect(_forget, weak=False, dispatch_uid="request_id.postrun")


def _add_header(headers=None, **_kwargs) -> None:
    value = current()
    if value is not None and headers is not None:
        headers.setdefault(CELERY_HEADER, value)


_task_tokens: dict[str, object] = {}


def _restore(task_id=None, task=None, **_kwargs) -> None:
    value = getattr(task.request, CELERY_HEADER, None) if task is not None else None
    if value is None and task is not None:
        value = (task.request.headers or {}).get(CELERY_HEADER)
    _task_tokens[task_id] = bind(value if value and VALID.match(str(value)) else task_id)


def _forget(task_id=None, **_kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        try:
            reset(token)
        except ValueError:  # set in another context (a thread pool): just clear it
            bind(None)


def stamp_request_id(message, value: str | None) -> None:
    """Put the id of the request that caused an email on it (outbox rows carry it)."""
    if value and VALID.match(value):
        message[HEADER] = value
