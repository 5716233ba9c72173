"""Work done once the response is on the wire.

A WSGI server calls the response's close() after it has written the last byte
(PEP 3333; gunicorn's sync worker does so before it takes the next connection),
so work registered here costs the client no time: storing a page just built in
the catalog cache, writing the access line. No app or request context is left by
then, so the work is given what it needs as arguments. A failure is logged, never
raised: the client already has its answer.
"""

import logging
from collections.abc import Callable

from flask import Response
from flask.testing import FlaskClient

log = logging.getLogger(__name__)


def after_response(response: Response, work: Callable, /, *args, **kwargs) -> None:
    """Run `work(*args, **kwargs)` when `response` is closed."""

    def run() -> None:
        try:
            work(*args, **kwargs)
        except Exception:
            log.exception("Work after the response failed: %s", getattr(work, "__qualname__", work))

    response.call_on_close(run)


class ClosingClient(FlaskClient):
    """The test client reading each body whole and closing it, as a WSGI server does,
    so a request's after-response work has run when `client.get()` returns. (Flask's
    own client closes a response only when the test does.)"""

    def open(self, *args, buffered: bool = True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)
