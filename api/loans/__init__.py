from flask import Blueprint

bp = Blueprint("loans", __name__)

from api.loans import desk_routes, routes  # noqa: E402,F401
