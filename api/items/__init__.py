from flask import Blueprint

bp = Blueprint("items", __name__)

from api.items import routes  # noqa: E402,F401
