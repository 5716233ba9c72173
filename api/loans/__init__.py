from flask import Blueprint

bp = Blueprint("loans", __name__)

from api.loans import routes  # noqa: E402,F401
