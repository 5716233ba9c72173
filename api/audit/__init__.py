"""The audit log: every staff action, and GET /admin/audit to read it."""

from flask import Blueprint

bp = Blueprint("audit", __name__)

from api.audit import routes  # noqa: E402,F401
