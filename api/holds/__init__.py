from flask import Blueprint

bp = Blueprint("holds", __name__)

from api.holds import routes  # noqa: E402,F401
