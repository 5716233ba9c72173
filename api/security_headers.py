"""Security headers on every response (OWASP API8, security misconfiguration).

Set centrally in one after_request hook so no view can forget them. Headers a view
already chose (the catalog's `Cache-Control: public, no-cache`) are left alone.
"""

from flask import Flask, Response, request

# JSON cannot run scripts, but a browser that sniffs a response as HTML could; the
# policy also forbids framing. The Swagger UI page needs its inline scripts, so HTML
# responses get only the framing rule.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
HTML_CSP = "frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"


def _add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Content-Security-Policy",
                       HTML_CSP if response.mimetype == "text/html" else API_CSP)
    # Tokens and personal data must not land in shared or browser caches; views that
    # serve public data set their own Cache-Control.
    headers.setdefault("Cache-Control", "no-store")
    if request.is_secure:
        # Only over HTTPS (directly or via a trusted proxy's X-Forwarded-Proto):
        # browsers ignore HSTS on plain HTTP, and development runs on plain HTTP.
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_security_headers(app: Flask) -> None:
    app.after_request(_add_security_headers)
