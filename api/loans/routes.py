"""/loans: borrow, list, return, renew; admins see and lend for everyone."""

from flask import url_for

from api.auth import admin_required, current_user, login_required
from api.circulation import loans
from api.errors import NotFound
from api.extensions import db
from api.loans import bp
from api.loans.schemas import LoanAdminIn, LoanAdminQuery, LoanIn, LoanOut, LoanPatch, LoanQuery
from api.models import User
from api.pagination import paginate
from api.parsing import json_body, query_args


def _own(loan_id: int):
    """The loan if the caller may act on it: admins any, members their own (else 404)."""
    user = current_user()
    return loans.get_loan(loan_id, owner_id=None if user.is_admin else user.id)


@bp.post("")
@login_required
def borrow():
    """Borrow a book.
    ---
    tags: [loans]
    security: [{bearerAuth: []}]
    description: >
      Members borrow for themselves and may send only `book_id`: `user_id` or `due_at`
      from a member is a 400 (unknown field). Admins may lend to `user_id` and set
      `due_at` (in the future). 409 when no copy is free (a ready hold keeps its copy
      for its member), the member already has the book, has MAX_ACTIVE_LOANS open
      loans, has an overdue loan, or is deactivated.
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: '#/components/schemas/LoanAdminIn'}
    responses:
      201:
        description: The new loan.
        headers:
          Location: {schema: {type: string}, description: URL of the loan.}
        content:
          application/json:
            schema: {$ref: '#/components/schemas/LoanOut'}
      400: {$ref: '#/components/responses/BadRequest'}
      404: {$ref: '#/components/responses/NotFound'}
      409: {$ref: '#/components/responses/Conflict'}
    """
    caller = current_user()
    data = json_body(LoanAdminIn() if caller.is_admin else LoanIn())
    borrower = caller
    if data.get("user_id", caller.id) != caller.id:
        borrower = db.session.get(User, data["user_id"]) or _no_user()
    loan = loans.borrow(borrower, data["book_id"], due_at=data.get("due_at"))
    return LoanOut().dump(loan), 201, {"Location": url_for("loans.get_loan", loan_id=loan.id)}


def _no_user():
    raise NotFound("No such user.")


@bp.get("")
@login_required
def list_loans():
    """List loans, newest first: members their own, admins everyone's.
    ---
    tags: [loans]
    security: [{bearerAuth: []}]
    x-query-schema: LoanAdminQuery
    parameters:
      - {in: query, name: user_id, description: Admins only; from a member it is a 400.}
    responses:
      200:
        description: A page of loans, with an RFC 8288 Link header.
        headers:
          Link: {schema: {type: string}}
        content:
          application/json:
            schema: {$ref: '#/components/schemas/LoansPage'}
      400: {$ref: '#/components/responses/BadRequest'}
    """
    user = current_user()
    args = query_args(LoanAdminQuery() if user.is_admin else LoanQuery())
    owner = args.get("user_id") if user.is_admin else user.id
    stmt = loans.list_stmt(user_id=owner, status=args.get("status"), book_id=args.get("book_id"))
    return paginate(stmt, LoanOut(), args)


@bp.get("/<int:loan_id>")
@login_required
def get_loan(loan_id: int):
    """One loan (another member's loan is 404).
    ---
    tags: [loans]
    security: [{bearerAuth: []}]
    parameters:
      - {in: path, name: loan_id, required: true, schema: {type: integer}}
    responses:
      200:
        description: The loan.
        content:
          application/json:
            schema: {$ref: '#/components/schemas/LoanOut'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    return LoanOut().dump(_own(loan_id))


@bp.post("/<int:loan_id>/return")
@login_required
def return_loan(loan_id: int):
    """Return a loan; the copy goes to the first waiting hold, else the shelf.
    ---
    tags: [loans]
    security: [{bearerAuth: []}]
    parameters:
      - {in: path, name: loan_id, required: true, schema: {type: integer}}
    responses:
      200:
        description: The returned loan.
        content:
          application/json:
            schema: {$ref: '#/components/schemas/LoanOut'}
      404: {$ref: '#/components/responses/NotFound'}
      409: {$ref: '#/components/responses/Conflict'}
    """
    return LoanOut().dump(loans.return_loan(_own(loan_id)))


@bp.post("/<int:loan_id>/renew")
@login_required
def renew_loan(loan_id: int):
    """Renew a loan: due_at moves LOAN_PERIOD_DAYS later.
    ---
    tags: [loans]
    security: [{bearerAuth: []}]
    description: >
      409 when the loan is returned or overdue, has been renewed MAX_RENEWALS times,
      or another member has a waiting or ready hold on the book.
    parameters:
      - {in: path, name: loan_id, required: true, schema: {type: integer}}
    responses:
      200:
        description: The renewed loan.
        content:
          application/json:
            schema: {$ref: '#/components/schemas/LoanOut'}
      404: {$ref: '#/components/responses/NotFound'}
      409: {$ref: '#/components/responses/Conflict'}
    """
    return LoanOut().dump(loans.renew(_own(loan_id)))


@bp.patch("/<int:loan_id>")
@admin_required
def update_loan(loan_id: int):
    """Change an open loan's due date (admin).
    ---
    tags: [loans]
    security: [{bearerAuth: []}]
    parameters:
      - {in: path, name: loan_id, required: true, schema: {type: integer}}
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: '#/components/schemas/LoanPatch'}
    responses:
      200:
        description: The loan.
        content:
          application/json:
            schema: {$ref: '#/components/schemas/LoanOut'}
      400: {$ref: '#/components/responses/BadRequest'}
      403: {$ref: '#/components/responses/Forbidden'}
      404: {$ref: '#/components/responses/NotFound'}
      409: {$ref: '#/components/responses/Conflict'}
    """
    data = json_body(LoanPatch())
    return LoanOut().dump(loans.set_due_at(loans.get_loan(loan_id), data["due_at"]))
