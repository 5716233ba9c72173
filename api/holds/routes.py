"""/holds: join the queue for a book with no free copy, list, suspend, cancel."""

from flask import url_for

from api.auth import current_user, login_required, staff_actor
from api.circulation import holds, suspension
from api.extensions import db
from api.holds import bp
from api.holds.schemas import HoldAdminQuery, HoldIn, HoldOut, HoldPatch, HoldQuery
from api.pagination import paginate
from api.parsing import json_body, query_args


def _own(hold_id: int):
    """The hold if the caller may see it: admins any, members their own (else 404)."""
    user = current_user()
    return holds.get_hold(db.session, hold_id, owner_id=None if user.is_admin else user.id)


@bp.post("")
@login_required
def place_hold():
    """Place a hold: a place in the queue for a book with no free copy.
    ---
    tags: [holds]
    security: [{bearerAuth: []}]
    description: >
      409 with `code`: `hold_not_needed` (a copy is free; borrow it instead),
      `already_borrowed` (you have this book on loan), `duplicate` (you already have
      an open hold on it), `account_inactive`. When a copy comes back the first
      waiting hold becomes `ready`: that item is kept on the hold shelf for the
      rule's hold_pickup_days, moved to an open day (until `expires_at`), and the
      member gets an email; borrow it with POST /loans.
    x-body: HoldIn
    x-response:
      201: HoldOut
      description: The hold, with its position in the queue.
      location: URL of the hold.
    x-errors: [404, 409]
    """
    data = json_body(HoldIn())
    hold = holds.place_hold(db.session, current_user(), data["book_id"])
    return HoldOut().dump(hold), 201, {"Location": url_for("holds.get_hold", hold_id=hold.id)}


@bp.get("")
@login_required
def list_holds():
    """List holds, newest first: members their own, admins everyone's.
    ---
    tags: [holds]
    security: [{bearerAuth: []}]
    x-query-schema: HoldAdminQuery
    parameters:
      - {in: query, name: user_id, description: Admins only; from a member it is a 400.}
    x-response: {200: HoldsPage, description: 'A page of holds, with an RFC 8288 Link header.', link: true}
    x-errors: [400]
    """
    user = current_user()
    args = query_args(HoldAdminQuery() if user.is_admin else HoldQuery())
    owner = args.get("user_id") if user.is_admin else user.id
    stmt = holds.holds_stmt(user_id=owner, status=args.get("status"), book_id=args.get("book_id"))
    return paginate(stmt, HoldOut(), args)


@bp.get("/<int:hold_id>")
@login_required
def get_hold(hold_id: int):
    """One hold (another member's hold is 404).
    ---
    tags: [holds]
    security: [{bearerAuth: []}]
    x-response: {200: HoldOut, description: The hold.}
    x-errors: [404]
    """
    return HoldOut().dump(_own(hold_id))


@bp.patch("/<int:hold_id>")
@login_required
def update_hold(hold_id: int):
    """Suspend a waiting hold until a date, or resume it (owner or admin).
    ---
    tags: [holds]
    security: [{bearerAuth: []}]
    description: >
      `suspended_until` is a library date (LIBRARY_TIMEZONE): the hold is suspended
      through the end of the day before and waits again from the start of that day.
      A suspended hold keeps its place (and `position`), but a copy that comes back
      passes it over for the next hold not suspended, else goes to the shelf. null (or
      today) resumes at once: a copy on the shelf then goes to the queue, the hold
      first if it is next. A date in the past is a 400; a hold that is not waiting is a
      409 `hold_not_waiting`. Another member's hold is 404; an admin's change is in the
      audit log (`hold.suspended` / `hold.resumed`).
    x-body: HoldPatch
    x-response: {200: HoldOut, description: The hold.}
    x-errors: [404, 409]
    """
    data = json_body(HoldPatch())
    return HoldOut().dump(suspension.suspend_hold(db.session, _own(hold_id), data["suspended_until"],
                                                  actor_id=staff_actor()))


@bp.delete("/<int:hold_id>")
@login_required
def cancel_hold(hold_id: int):
    """Cancel a waiting or ready hold; a kept copy passes to the next in line.
    ---
    tags: [holds]
    security: [{bearerAuth: []}]
    description: An already closed hold is a 409 with code `hold_closed`.
    responses:
      204: {description: Cancelled.}
    x-errors: [404, 409]
    """
    holds.cancel_hold(db.session, _own(hold_id), actor_id=staff_actor())
    return "", 204
