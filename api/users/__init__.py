from flask import Blueprint

bp = Blueprint("users", __name__)

from api.users import auth_routes, user_routes  # noqa: E402,F401
