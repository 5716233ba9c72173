"""/users/me/account and /users/<id>/account: balances, lines, and the desk's payments,
waivers and charges. Registered under /users beside the users blueprint."""

from flask import url_for

from api.accounts import bp, service
from api.accounts.schemas import (
    AccountLineOut,
    AccountLinesQuery,
    AccountOut,
    ChargeIn,
    PaymentIn,
    WaiverIn,
)
from api.auth import admin_required, current_user, login_required
from api.errors import NotFound
from api.extensions import db
from api.pagination import paginate
from api.parsing import json_body, query_args


def _account_of(user_id: int) -> int:
    """Admins read any account; a member only their own (another's is 404, like a missing one)."""
    caller = current_user()
    if not caller.is_admin and user_id != caller.id:
        raise NotFound("No such user.")
    return service.get_account_user(db.session, user_id).id


def _summary(user_id: int) -> dict:
    owed = service.balance(db.session, user_id)
    return AccountOut().dump({"currency": service.currency(), "balance": owed})


@bp.get("/me/account")
@login_required
def my_account():
    """The caller's balance.
    ---
    tags: [accounts]
    security: [{bearerAuth: []}]
    x-response:
      200: AccountOut
      description: The balance (the sum of the lines, in minor units of `currency`).
    """
    return _summary(current_user().id)


@bp.get("/me/account/lines")
@login_required
def my_account_lines():
    """The caller's account lines, newest first.
    ---
    tags: [accounts]
    security: [{bearerAuth: []}]
    parameters:
      - $ref: '#/components/parameters/Page'
      - $ref: '#/components/parameters/PerPage'
      - $ref: '#/components/parameters/After'
    x-response:
      200: AccountLinesPage
      description: A page of lines, with an RFC 8288 Link header.
      link: true
    x-errors: [400]
    """
    args = query_args(AccountLinesQuery())
    return paginate(service.lines_stmt(current_user().id), AccountLineOut(), args)


@bp.get("/<int:user_id>/account")
@login_required
def get_account(user_id: int):
    """A member's balance: admins any member's, members only their own.
    ---
    tags: [accounts]
    security: [{bearerAuth: []}]
    x-response: {200: AccountOut, description: The balance.}
    x-errors: [404]
    """
    return _summary(_account_of(user_id))


@bp.get("/<int:user_id>/account/lines")
@login_required
def get_account_lines(user_id: int):
    """A member's account lines, newest first: admins any member's, members only their own.
    ---
    tags: [accounts]
    security: [{bearerAuth: []}]
    parameters:
      - $ref: '#/components/parameters/Page'
      - $ref: '#/components/parameters/PerPage'
      - $ref: '#/components/parameters/After'
    x-response:
      200: AccountLinesPage
      description: A page of lines, with an RFC 8288 Link header.
      link: true
    x-errors: [400, 404]
    """
    args = query_args(AccountLinesQuery())
    return paginate(service.lines_stmt(_account_of(user_id)), AccountLineOut(), args)


@bp.get("/<int:user_id>/account/lines/<int:line_id>")
@admin_required
def get_account_line(user_id: int, line_id: int):
    """One account line (admin); the Location of a new payment, waiver or charge.
    ---
    tags: [accounts]
    security: [{bearerAuth: []}]
    x-response: {200: AccountLineOut, description: The line.}
    x-errors: [403, 404]
    """
    return AccountLineOut().dump(service.get_line(db.session, user_id, line_id))


def _created(line):
    location = url_for("accounts.get_account_line", user_id=line.user_id, line_id=line.id)
    return AccountLineOut().dump(line), 201, {"Location": location}


_MOVEMENT_DOC = """{summary}
    ---
    tags: [accounts]
    security: [{{bearerAuth: []}}]
    description: >
      {description} Recorded in the audit log (`{action}`).
    x-body: '{schema}'
    x-response: {{201: AccountLineOut, description: The new line., location: URL of the line.}}
    x-errors: [{errors}]
    """


def _movement(path: str, schema, apply, *, summary: str, description: str, action: str,
              refused: bool) -> None:
    """POST /users/<id>/account/<path>: one admin view per kind of money movement,
    the same steps with its own schema and service function (and docs)."""

    @admin_required
    def view(user_id: int):
        service.get_account_user(db.session, user_id)  # an unknown member is 404 whatever the body
        data = json_body(schema())
        return _created(apply(db.session, user_id=user_id, amount=data["amount"], note=data.get("note"),
                              actor_id=current_user().id))

    view.__name__ = f"add_{path[:-1]}"  # add_payment, add_waiver, add_charge
    view.__doc__ = _MOVEMENT_DOC.format(
        summary=summary, description=description, action=action, schema=schema.__name__,
        errors="403, 404, 409" if refused else "403, 404")
    bp.post(f"/<int:user_id>/account/{path}")(view)


_movement("payments", PaymentIn, service.pay, summary="Record a payment (admin).", action="account.paid",
          description="The line is `kind: payment` with a negative amount. More than the balance is a 409 "
                      "with `code: payment_exceeds_balance`.", refused=True)
_movement("waivers", WaiverIn, service.waive, action="account.waived",
          summary="Waive part or all of the balance (admin); a note is required.",
          description="The line is `kind: waiver` with a negative amount. More than the balance is a 409 "
                      "with `code: waiver_exceeds_balance`.", refused=True)
_movement("charges", ChargeIn, service.charge, action="account.charged",
          summary="Charge the member (admin): a lost book, a replacement card; a note is required.",
          description="The line is `kind: manual`.", refused=False)
