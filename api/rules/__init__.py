"""Circulation rules by patron category and item type (SPEC "Circulation rules")."""

from flask import Blueprint

bp = Blueprint("rules", __name__)

from api.rules import routes  # noqa: E402,F401
