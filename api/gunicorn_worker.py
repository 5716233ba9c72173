"""gunicorn's sync worker, answering the requests gunicorn itself refuses with
problem+json (SPEC "Protection": over-long URLs and headers get 414/431 as JSON, never
the HTTP server's own HTML page).

gunicorn parses the request line and headers before the app is called, so these never
reach Flask's error handlers; its worker writes a small HTML page from `handle_error`.
This subclass answers the client errors it knows with the same problem shape as
api.errors and leaves everything else (a 500 in the app, TLS errors) to gunicorn.
gunicorn.conf.py names it as `worker_class`.
"""

import json

from gunicorn import util
from gunicorn.http import errors
from gunicorn.workers.sync import SyncWorker

# Most specific first: (exception, status, title, detail).
_REFUSALS = (
    (errors.LimitRequestLine, 414, "URI Too Long", "The request line (the URL) is too long."),
    (errors.LimitRequestHeaders, 431, "Request Header Fields Too Large",
     "A header is too long, or there are too many headers."),
    ((errors.InvalidRequestLine, errors.InvalidRequestMethod, errors.InvalidHTTPVersion,
      errors.InvalidHeader, errors.InvalidHeaderName, errors.ObsoleteFolding,
      errors.InvalidChunkSize, errors.ChunkMissingTerminator, errors.InvalidChunkExtension),
     400, "Bad Request", "The request is not valid HTTP/1.1."),
)


def problem_response(status: int, title: str, detail: str) -> bytes:
    """A complete HTTP/1.1 response carrying a problem+json body; the connection closes."""
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    head = (f"HTTP/1.1 {status} {title}\r\nConnection: close\r\n"
            "Content-Type: application/problem+json\r\nX-Content-Type-Options: nosniff\r\n"
            f"Cache-Control: no-store\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


class ProblemJsonWorker(SyncWorker):
    def handle_error(self, req, client, addr, exc):
        refusal = next((r for r in _REFUSALS if isinstance(exc, r[0])), None)
        if refusal is None:
            return super().handle_error(req, client, addr, exc)
        _, status, title, detail = refusal
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        try:
            util.write_nonblock(client, problem_response(status, title, detail))
        except OSError:
            self.log.debug("Failed to send error message.")
