"""/loans: borrow, list, return, renew; admins see and lend for everyone.

The admins' desk views (due date changes, check-in by barcode) are in desk_routes."""

from flask import url_for

from api.auth import current_user, login_required, staff_actor
from api.circulation import loans
from api.circulation.check import borrow_check
from api.errors import Forbidden, NotFound
from api.extensions import db
from api.loans import bp
from api.loans.schemas import (
    LoanAdminIn,
    LoanAdminQuery,
    LoanCheckOut,
    LoanCheckQuery,
    LoanIn,
    LoanOut,
    LoanQuery,
    RenewAdminIn,
    RenewIn,
)
from api.models import User
from api.pagination import paginate
from api.parsing import json_body, json_object_if_sent, query_args
from api.ratelimit_plan import first_trip_counts_limits
from api.transaction import reads_only

# The list is a hot route: one instance of each schema serves all (as api/books/routes.py).
LOAN_ADMIN_QUERY, LOAN_QUERY, LOAN_OUT = LoanAdminQuery(), LoanQuery(), LoanOut()


def _own(loan_id: int):
    """The loan if the caller may act on it: admins any, members their own (else 404)."""
    user = current_user()
    return loans.get_loan(db.session, loan_id, owner_id=None if user.is_admin else user.id)


@bp.post("")
@login_required
def borrow():
    """Borrow a book: any free copy (`book_id`) or one item (`barcode`).
    ---
    tags: [loans]
    security: [{bearerAuth: []}]
    description: >
      Members borrow for themselves and may send only `book_id` or `barcode`:
      `user_id`, `due_at` or `borrowed_at` from a member is a 400 (unknown field).
      Admins may lend to `user_id` (at the desk, by barcode) and record an offline
      loan: `borrowed_at` and `due_at` may lie in the past, `due_at` after
      `borrowed_at`; such loans are recorded in the audit log. The due date comes from
      the effective rule of the member's category and the item's type, moved to the
      next open day. 404 unknown book, barcode or user. 409 with `code`:
      `no_copy_available` (a ready hold keeps its copy for its member),
      `already_borrowed`, `loan_limit`, `has_overdue`, `balance_limit`,
      `patron_blocked`, `account_inactive`, `item_unavailable` (the scanned item is not
      on the shelf), `reserved_for_other` (the scanned item is kept for another
      member's hold). When several apply, the code is one no override lifts, if any.
      An admin's `override_reason` lifts `loan_limit`, `has_overdue`, `balance_limit`,
      `patron_blocked` and `reserved_for_other` (the other member's ready hold keeps
      another copy, or goes back to waiting first in line) and is recorded in the
      audit log (`loan.override`); from a member it is a 400 (unknown field).
    x-body: LoanAdminIn
    x-response: {201: LoanOut, description: The new loan., location: URL of the loan.}
    x-errors: [404, 409]
    """
    caller = current_user()
    data = json_body(LoanAdminIn() if caller.is_admin else LoanIn())
    borrower = caller
    if data.get("user_id", caller.id) != caller.id:
        borrower = db.session.get(User, data["user_id"]) or _no_user()
    staff_action = borrower.id != caller.id or data.keys() & {"due_at", "borrowed_at", "override_reason"}
    loan = loans.borrow(db.session, borrower, data.get("book_id"), barcode=data.get("barcode"),
                        due_at=data.get("due_at"), borrowed_at=data.get("borrowed_at"),
                        actor_id=caller.id if staff_action else None,
                        override_reason=data.get("override_reason"))
    return LoanOut().dump(loan), 201, {"Location": url_for("loans.get_loan", loan_id=loan.id)}


def _no_user():
    raise NotFound("No such user.")


@bp.get("/check")
@login_required
def check():
    """Would this borrow go through? Every reason it would not, at once; changes nothing.
    ---
    tags: [loans]
    security: [{bearerAuth: []}]
    description: >
      Give `book_id` or `barcode`. Members check for themselves; `user_id` is for admins
      (403 for a member). `blockers` lists every refusal `POST /loans` would give, each
      with the code it would carry; `due_at` is the due date a loan made now would get.
      Advice only: the borrow itself still decides under its locks.
    parameters:
      - {in: query, name: book_id, schema: {type: integer, minimum: 1, maximum: 2147483647}}
      - {in: query, name: barcode, schema: {type: string, minLength: 1, maxLength: 32}}
      - {in: query, name: user_id, schema: {type: integer, minimum: 1, maximum: 2147483647}}
    x-response: {200: LoanCheckOut, description: The answer.}
    x-errors: [400, 403, 404]
    """
    caller = current_user()
    args = query_args(LoanCheckQuery())
    member = caller
    if args.get("user_id", caller.id) != caller.id:
        if not caller.is_admin:
            raise Forbidden("Only admins may check for another member.")
        member = db.session.get(User, args["user_id"]) or _no_user()
    answer = borrow_check(db.session, member, book_id=args.get("book_id"), barcode=args.get("barcode"))
    db.session.rollback()  # read only: nothing to keep
    return LoanCheckOut().dump(answer)


@bp.get("")
@first_trip_counts_limits
@reads_only
@login_required
def list_loans():
    """List loans, newest first: members their own, admins everyone's.
    ---
    tags: [loans]
    security: [{bearerAuth: []}]
    x-query-schema: LoanAdminQuery
    parameters:
      - {in: query, name: user_id, description: Admins only; from a member it is a 400.}
    x-response: {200: LoansPage, description: 'A page of loans, with an RFC 8288 Link header.', link: true}
    x-errors: [400]
    """
    user = current_user()
    args = query_args(LOAN_ADMIN_QUERY if user.is_admin else LOAN_QUERY)
    owner = args.get("user_id") if user.is_admin else user.id
    stmt = loans.loans_stmt(user_id=owner, status=args.get("status"), book_id=args.get("book_id"))
    # Open loans by status: ids from ix_loans_open_borrowed_at alone (it includes due_at).
    return paginate(stmt, LOAN_OUT, args, deferred=args.get("status") in ("active", "overdue"))


@bp.get("/<int:loan_id>")
@login_required
def get_loan(loan_id: int):
    """One loan (another member's loan is 404).
    ---
    tags: [loans]
    security: [{bearerAuth: []}]
    x-response: {200: LoanOut, description: The loan.}
    x-errors: [404]
    """
    return LoanOut().dump(_own(loan_id))


@bp.post("/<int:loan_id>/return")
@login_required
def return_loan(loan_id: int):
    """Return a loan; the copy goes to the first waiting hold, else the shelf.
    ---
    tags: [loans]
    security: [{bearerAuth: []}]
    description: A second return is a 409 with code `loan_returned`.
    x-response: {200: LoanOut, description: The returned loan.}
    x-errors: [404, 409]
    """
    return LoanOut().dump(loans.return_loan(db.session, _own(loan_id), actor_id=staff_actor()))


@bp.post("/<int:loan_id>/renew")
@login_required
def renew_loan(loan_id: int):
    """Renew a loan: due_at moves the rule's renewal_days later (to an open day).
    ---
    tags: [loans]
    security: [{bearerAuth: []}]
    description: >
      The rule is the effective rule of the member's category and the item's type.
      409 with `code`: `loan_returned`, `loan_overdue`, `renewal_limit` (renewed
      max_renewals times), `reserved_for_other` (another member has a waiting (suspended
      included) or ready hold on the book), `balance_limit`, `patron_blocked`,
      `account_inactive` (the member is deactivated; no override lifts it). The body is optional;
      an admin's `override_reason` lifts `renewal_limit`, `reserved_for_other`,
      `balance_limit` and `patron_blocked` (never `loan_returned` or `loan_overdue`)
      and is recorded in the audit log (`loan.override`); from a member it is a 400.
      Other fields, and a body that is not a JSON object, are ignored, as v1 did (it
      read no body); JSON that does not parse is a 400. An admin's renewal is recorded
      (`loan.renewed`).
    requestBody:
      required: false
      content:
        application/json:
          schema:
            anyOf:
              - {$ref: '#/components/schemas/RenewAdminIn'}
              - {not: {type: object}, description: 'Not an object: ignored, as v1 did.'}
    x-response: {200: LoanOut, description: The renewed loan.}
    x-errors: [404, 409]
    """
    caller = current_user()
    data = json_object_if_sent(RenewAdminIn() if caller.is_admin else RenewIn())
    loan = loans.renew(db.session, _own(loan_id), override_reason=data.get("override_reason"),
                       actor_id=staff_actor())
    return LoanOut().dump(loan)
