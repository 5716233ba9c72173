"""Admin blocks on members (/users/<id>/blocks)."""

from flask import Blueprint

bp = Blueprint("blocks", __name__)

from api.blocks import routes  # noqa: E402,F401
