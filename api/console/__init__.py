from flask import Blueprint

bp = Blueprint("console", __name__)

from api.console import routes  # noqa: E402,F401
