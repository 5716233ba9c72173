"""GET /console: the staff console, one static page with its script and style.
Everything it shows comes from the admin API, called with the admin's own token
(kept in sessionStorage, gone with the tab)."""

from pathlib import Path

from flask import send_from_directory

from api.console import bp
from api.errors import NotFound

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"console-api.js": "text/javascript", "console.js": "text/javascript", "console.css": "text/css"}
# The page loads only its own script and style and talks only to this API.
CONSOLE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
               "img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'")


@bp.get("")
def console():
    """The staff console (HTML): runs, imports, messages, downloads, outbox backlog.
    ---
    tags: [console]
    responses:
      200:
        description: The page; it logs in with POST /users/login and uses the admin API.
        content:
          text/html:
            schema: {type: string}
    """
    response = send_from_directory(STATIC, "console.html", mimetype="text/html")
    response.headers["Content-Security-Policy"] = CONSOLE_CSP
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/assets/<asset>")
def asset(asset: str):
    """The console's script and style sheet.
    ---
    tags: [console]
    parameters:
      - in: path
        name: asset
        required: true
        schema: {type: string, enum: [console-api.js, console.js, console.css]}
    responses:
      200:
        description: The file.
        content:
          text/javascript:
            schema: {type: string}
          text/css:
            schema: {type: string}
    x-errors: [404]
    """
    if asset not in ASSETS:
        raise NotFound("No such asset.")
    response = send_from_directory(STATIC, asset, mimetype=ASSETS[asset])
    response.headers["Cache-Control"] = "no-cache"
    return response
