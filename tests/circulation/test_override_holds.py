"""Overriding `reserved_for_other` at the desk: the scanned item kept for another
member's ready hold is lent, and that hold keeps another copy (the borrower's own kept
one, else one from the shelf) or, with none free, goes back to waiting first in line."""

import pytest
from sqlalchemy import select

from api.extensions import db
from api.models import Hold, Notification
from tests.circulation.overrides_helpers import desk, lend, lenders, overrides, ready_for_other

REASON = "Patron needs it for an exam today"


@pytest.fixture
def t(app, client, admin, member, other_member, make_book, quick_member):
    return desk(app, client, admin, member, other_member, make_book, quick_member)


def _holds(t, account, book):
    """The member's holds on the book as GET /holds shows them, with the kept item_id."""
    holds = t.client.get(f"/holds?book_id={book}", headers=account.headers).get_json()["items"]
    with t.app.app_context():
        return [h | {"item_id": db.session.scalar(select(Hold.item_id).where(Hold.id == h["id"]))}
                for h in holds]


def _lend_scanned(t, barcode):
    response = t.client.post("/loans", json={"user_id": t.member.id, "barcode": barcode,
                                             "override_reason": REASON}, headers=t.admin.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_other_hold_keeps_a_copy_from_the_shelf(t, invariant):
    book, barcode = ready_for_other(t, copies=2)
    [before] = _holds(t, t.other, book)
    loan = _lend_scanned(t, barcode)
    [after] = _holds(t, t.other, book)
    assert after["status"] == "ready" and after["item_id"] not in (None, loan["item_id"])
    assert after["expires_at"] == before["expires_at"]  # same deadline; they were told once
    assert t.client.get(f"/books/{book}").get_json()["copies_available"] == 0
    [entry] = overrides(t, loan["id"])
    assert entry["codes"] == ["reserved_for_other"]
    assert (entry["hold_id"], entry["hold_status"], entry["hold_item_id"]) == (
        after["id"], "ready", after["item_id"])
    invariant(book)


def test_with_no_free_copy_the_other_hold_waits_first_in_line(t, app, invariant, quick_member):
    book, barcode = ready_for_other(t, copies=1)
    third = quick_member("third")
    assert t.client.post("/holds", json={"book_id": book}, headers=third.headers).status_code == 201
    loan = _lend_scanned(t, barcode)
    [mine] = _holds(t, t.other, book)
    assert (mine["status"], mine["position"], mine["item_id"], mine["expires_at"]) == (
        "waiting", 1, None, None)
    assert _holds(t, third, book)[0]["position"] == 2
    assert overrides(t, loan["id"])[0]["hold_status"] == "waiting"
    invariant(book)

    # The copy comes back: it goes to them first, with a new email.
    assert t.client.post(f"/loans/{loan['id']}/return", headers=t.admin.headers).status_code == 200
    [mine] = _holds(t, t.other, book)
    assert mine["status"] == "ready" and mine["item_id"] == loan["item_id"]
    with app.app_context():
        emails = db.session.scalars(select(Notification.dedupe_key).where(
            Notification.kind == "hold_ready", Notification.hold_id == mine["id"])).all()
    assert len(emails) == 2
    invariant(book)


def test_the_borrowers_own_kept_copy_goes_to_the_other_hold(t, app, invariant):
    book = t.make_book(copies=2)
    first, second = (lend(t, lender.id, book_id=book) for lender in lenders(t, 2))
    for account in (t.other, t.member):
        assert t.client.post("/holds", json={"book_id": book}, headers=account.headers).status_code == 201
    for loan in (first, second):  # other's hold keeps the first copy, the member's the second
        assert t.client.post(f"/loans/{loan['id']}/return", headers=t.admin.headers).status_code == 200

    loan = _lend_scanned(t, first["barcode"])
    assert loan["item_id"] == first["item_id"]
    [theirs] = _holds(t, t.other, book)
    assert theirs["status"] == "ready" and theirs["item_id"] == second["item_id"]
    with app.app_context():
        mine = db.session.scalar(select(Hold.status).where(Hold.user_id == t.member.id))
    assert mine == "fulfilled"
    invariant(book)
