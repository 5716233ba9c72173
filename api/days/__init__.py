"""The library calendar: which days are open, in LIBRARY_TIMEZONE (SPEC "Calendar").

Named `days`, not `calendar`, so it never shadows the standard library's module.
"""

from flask import Blueprint

bp = Blueprint("days", __name__)

from api.days import routes  # noqa: E402,F401
