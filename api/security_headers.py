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


# (name, lower-cased name, value); Content-Security-Policy, between Referrer-Policy
# and Cache-Control, depends on the response. Tokens and personal data must not
# land in shared or browser caches; views that serve public data set their own
# Cache-Control.
_BEFORE_CSP = (("X-Content-Type-Options", "x-content-type-options", "nosniff"),
               ("X-Frame-Options", "x-frame-options", "DENY"),
               ("Referrer-Policy", "referrer-policy", "no-referrer"))


def _add_security_headers(response: Response) -> Response:
    headers = response.headers
    # One pass over the headers rather than one per setdefault: this runs on every response.
    present = {name.lower() for name, _ in headers}
    missing = [(name, value) for name, lower, value in _BEFORE_CSP if lower not in present]
    if "content-security-policy" not in present:
        missing.append(("Content-Security-Policy",
                        HTML_CSP if response.mimetype == "text/html" else API_CSP))
    if "cache-control" not in present:
        missing.append(("Cache-Control", "no-store"))
    if request.is_secure and "strict-transport-security" not in present:
        # Only over HTTPS (directly or via a trusted proxy's X-Forwarded-Proto):
        # browsers ignore HSTS on plain HTTP, and development runs on plain HTTP.
        missing.append(("Strict-Transport-Security", HSTS))
    headers.extend(missing)
    return response


def init_security_headers(app: Flask) -> None:
    app.after_request(_add_security_headers)
