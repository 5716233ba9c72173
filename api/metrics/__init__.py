from flask import Blueprint

bp = Blueprint("metrics", __name__)

from api.metrics import routes  # noqa: E402,F401
