from flask import Blueprint

bp = Blueprint("users", __name__)

from api.users import account_routes, routes  # noqa: E402,F401
