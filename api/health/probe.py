"""GET /health answered by a few lines of WSGI in front of Flask.

A liveness probe says only "the process answers", so it needs none of the
per-request machinery (rate limiter, sessions, docs hooks) that the routes pay
for: answering here costs about what a bare Flask app costs (bench/RESULTS.md).
The answer is the one the Flask view (api/health/routes.py, which documents the
route) gives, with the security headers and the request id every response carries. Anything else,
including other methods on /health, goes to Flask as usual.
"""

from api.request_id import HEADER as REQUEST_ID
from api.request_id import accept
from api.security_headers import API_CSP, HSTS

BODY = b'{"status":"ok"}\n'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY))),
           ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
           ("Referrer-Policy", "no-referrer"), ("Content-Security-Policy", API_CSP),
           ("Cache-Control", "no-store")]
PATH = "/health"


class LivenessProbe:
    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        if environ.get("PATH_INFO") != PATH or method not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        # Every response carries a request id (SPEC "Operations"), this one too.
        headers = [*HEADERS, (REQUEST_ID, accept(environ.get("HTTP_X_REQUEST_ID")))]
        if environ.get("wsgi.url_scheme") == "https":  # as security_headers does
            headers.append(("Strict-Transport-Security", HSTS))
        start_response("200 OK", headers)
        return [] if method == "HEAD" else [BODY]
