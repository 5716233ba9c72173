from flask import Blueprint

bp = Blueprint("books", __name__)

from api.books import routes  # noqa: E402,F401
