"""/loans desk views (admin): change a due date, check an item in by its barcode."""

from api.auth import admin_required, current_user
from api.circulation import desk, loans
from api.extensions import db
from api.loans import bp
from api.loans.schemas import CheckinIn, LoanOut, LoanPatch
from api.parsing import json_body


@bp.patch("/<int:loan_id>")
@admin_required
def update_loan(loan_id: int):
    """Change an open loan's due date (admin), recorded in the audit log.
    ---
    tags: [loans]
    security: [{bearerAuth: []}]
    description: >
      Any time after `borrowed_at`, the past included (the loan is then overdue at
      once); not after `borrowed_at` is a 400. 409 `loan_returned` once returned.
    x-body: LoanPatch
    x-response: {200: LoanOut, description: The loan.}
    x-errors: [403, 404, 409]
    """
    data = json_body(LoanPatch())
    loan = loans.get_loan(db.session, loan_id)
    return LoanOut().dump(desk.set_due_at(db.session, loan, data["due_at"], actor_id=current_user().id))


@bp.post("/checkin")
@admin_required
def checkin():
    """Check in an item at the desk by its barcode (admin), e.g. from the book drop.
    ---
    tags: [loans]
    security: [{bearerAuth: []}]
    description: >
      Closes the item's open loan at `returned_at` (default now; the past allowed,
      never before `borrowed_at` nor in the future: 400). The item goes to the first
      waiting hold (`on_hold_shelf`, and that member gets an email) or back on the
      shelf (`available`); the answer says which. Recorded in the audit log.
      404 unknown barcode; 409 `item_unavailable` when the item is not on loan.
    x-body: CheckinIn
    x-response:
      200: CheckinOut
      description: The closed loan, the item's new status, and the hold it now waits for (or null).
    x-errors: [403, 404, 409]
    """
    from api.items.schemas import CheckinOut  # items' schemas import these blueprints' schemas

    data = json_body(CheckinIn())
    done = desk.checkin(db.session, data["barcode"], returned_at=data.get("returned_at"),
                        actor_id=current_user().id)
    return CheckinOut().dump(done)
