"""GET /loans/check: every blocker at once, the due date that would apply, no writes."""

from datetime import timedelta

from sqlalchemy import event

from api.clock import utcnow
from api.extensions import db
from api.rules.resolve import ensure_default_rule
from tests.helpers import is_problem


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
    # The first rule lookup seeds the `*`/`*` rule on a fresh test database (a migrated
    # one has it already); after that, a check must not write at all.
    with app.app_context():
        ensure_default_rule(db.session)
        db.session.commit()
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
