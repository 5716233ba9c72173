"""Members' accounts: the ledger of fines, charges, payments and waivers, and the
fines-accrual job's SQL (api.accounts.fines)."""

from flask import Blueprint

from api.accounts.currency import validate_currency

bp = Blueprint("accounts", __name__)


@bp.record_once
def _check_currency(state) -> None:
    validate_currency(state.app.config["CURRENCY"])


from api.accounts import routes  # noqa: E402,F401
