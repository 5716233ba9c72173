"""GET /loans/check: every blocker at once, the due date that would apply, no writes."""

from datetime import timedelta

import pytest
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from api.circulation.loans import get_item_by_barcode
from api.circulation.refusals import OVERRIDABLE, borrow_blockers
from api.clock import utcnow
from api.errors import NotFound
from api.extensions import db
from api.models import Book, Item, User
from tests.circulation.overrides_helpers import HARD_BORROW, OVERRIDABLE_BORROW, desk, set_rule
from tests.helpers import create_user, is_problem


def _codes(response):
    assert response.status_code == 200, response.get_json()
    return [b["code"] for b in response.get_json()["blockers"]]


def test_a_free_book_is_allowed_with_the_due_date_a_loan_would_get(client, member, make_book):
    book = make_book(copies=1)
    answer = client.get(f"/loans/check?book_id={book}", headers=member.headers).get_json()
    assert answer["allowed"] is True and answer["blockers"] == []
    loan = client.post("/loans", json={"book_id": book}, headers=member.headers).get_json()
    assert answer["due_at"][:13] == loan["due_at"][:13]  # the same rule, the same day


def test_every_blocker_is_listed_at_once(client, admin, member, make_book):
    taken, overdue = make_book(copies=1), make_book(copies=1)
    client.post("/loans", json={"book_id": taken, "user_id": admin.id}, headers=admin.headers)
    past = (utcnow() - timedelta(days=20)).isoformat()
    client.post("/loans", json={"book_id": overdue, "user_id": member.id, "borrowed_at": past,
                                "due_at": (utcnow() - timedelta(days=1)).isoformat()}, headers=admin.headers)
    client.post(f"/users/{member.id}/account/charges", json={"amount": 900, "note": "x"},
                headers=admin.headers)
    client.post(f"/users/{member.id}/blocks", json={"reason": "desk"}, headers=admin.headers)
    codes = _codes(client.get(f"/loans/check?book_id={taken}", headers=member.headers))
    assert codes == ["has_overdue", "no_copy_available", "balance_limit", "patron_blocked"]
    again = _codes(client.get(f"/loans/check?book_id={overdue}&user_id={member.id}", headers=admin.headers))
    assert "already_borrowed" in again


def test_a_scanned_item_on_loan_is_unavailable(client, admin, member, make_book):
    book = make_book(copies=1)
    loan = client.post("/loans", json={"book_id": book, "user_id": admin.id},
                       headers=admin.headers).get_json()
    codes = _codes(client.get(f"/loans/check?barcode={loan['barcode']}", headers=member.headers))
    assert codes == ["item_unavailable"]


def test_it_writes_nothing(app, client, admin, member, make_book):
    book = make_book(copies=1)
    writes = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        url = f"/loans/check?book_id={book}&user_id={member.id}"
        assert client.get(url, headers=admin.headers).status_code == 200
        assert client.get(f"/loans/check?book_id={book}", headers=member.headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert writes == []


def test_members_check_only_for_themselves_and_input_is_checked(client, member, other_member, make_book):
    book = make_book(copies=1)
    assert is_problem(client.get(f"/loans/check?book_id={book}&user_id={other_member.id}",
                                 headers=member.headers), 403)
    assert is_problem(client.get("/loans/check", headers=member.headers), 400)
    assert is_problem(client.get(f"/loans/check?book_id={book}&barcode=x", headers=member.headers), 400)
    assert is_problem(client.get("/loans/check?book_id=999999", headers=member.headers), 404)
    assert is_problem(client.get(f"/loans/check?book_id={book}"), 401)


SCENARIOS = OVERRIDABLE_BORROW | HARD_BORROW


@pytest.mark.parametrize("code", sorted(SCENARIOS))
def test_the_borrow_refuses_with_a_code_the_check_listed(app, client, admin, member, other_member, make_book,
                                                         quick_member, code):
    t = desk(app, client, admin, member, other_member, make_book, quick_member)
    body = SCENARIOS[code](t)
    query = "&".join(f"{k}={v}" for k, v in body.items())
    answer = client.get(f"/loans/check?{query}&user_id={member.id}", headers=admin.headers).get_json()
    assert answer["allowed"] is False
    assert [(b["code"], b["overridable"]) for b in answer["blockers"]] == [(code, code in OVERRIDABLE)]
    refused = client.post("/loans", json={"user_id": member.id, **body}, headers=admin.headers)
    assert is_problem(refused, 409) and refused.get_json()["code"] == code


def test_with_several_blockers_the_borrows_code_is_among_the_checks(app, client, admin, member, other_member,
                                                                     make_book, quick_member):
    t = desk(app, client, admin, member, other_member, make_book, quick_member)
    for code in ("has_overdue", "balance_limit", "patron_blocked"):
        OVERRIDABLE_BORROW[code](t)
    set_rule(app, max_loans=1)  # the overdue loan is the one
    free, taken = {"book_id": make_book(copies=1)}, HARD_BORROW["no_copy_available"](t)
    for body, hard in ((free, []), (taken, ["no_copy_available"])):
        answer = _codes(client.get(f"/loans/check?book_id={body['book_id']}", headers=member.headers))
        assert answer == ["has_overdue", "loan_limit", *hard, "balance_limit", "patron_blocked"]
        refused = client.post("/loans", json=body, headers=member.headers)
        assert is_problem(refused, 409) and refused.get_json()["code"] in answer
        assert refused.get_json()["code"] == (hard or answer)[0]


def test_an_item_deleted_after_its_barcode_was_looked_up_is_a_404(app, make_book):
    # A kiosk scan racing staff deleting that item: the borrow looked the barcode up,
    # then (waiting on the book's lock) the delete committed. It was a 500.
    book_id = make_book(copies=2)
    reader = create_user(app, "scanner")
    with app.app_context():
        barcode = db.session.scalars(select(Item.barcode).where(Item.book_id == book_id)).first()
        scanned = get_item_by_barcode(db.session, barcode)
        with Session(db.engine) as staff:
            staff.execute(delete(Item).where(Item.id == scanned.id))
            staff.commit()
        with pytest.raises(NotFound):
            borrow_blockers(db.session, db.session.get(User, reader.id), db.session.get(Book, book_id),
                            scanned=scanned, now=utcnow())
