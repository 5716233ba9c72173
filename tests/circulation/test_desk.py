"""The desk over HTTP: borrowing by barcode, check-in (book drop included), offline
loans, due-date corrections, and the `code` on every refusal."""

from datetime import timedelta

from api.clock import utcnow
from api.extensions import db
from api.models import AuditEntry
from tests.helpers import is_problem
from tests.invariants.checks import assert_invariants


def barcodes(client, book_id):
    return [i["barcode"] for i in client.get(f"/books/{book_id}/items").get_json()["items"]]


def lend(client, account, **body):
    return client.post("/loans", json=body, headers=account.headers)


def checkin(client, admin, **body):
    return client.post("/loans/checkin", json=body, headers=admin.headers)


def code(response, status=409):
    assert is_problem(response, status), (response.status_code, response.get_json())
    return response.get_json().get("code")


def actions(app, object_type="loan"):
    with app.app_context():
        return [e.action for e in db.session.query(AuditEntry).filter_by(object_type=object_type)
                .order_by(AuditEntry.id)]


def test_member_borrows_one_item_by_barcode(app, client, member, make_book):
    book_id = make_book(copies=2)
    second = barcodes(client, book_id)[1]
    loan = lend(client, member, barcode=second)
    assert loan.status_code == 201
    assert (loan.json["barcode"], loan.json["book_id"], loan.json["user_id"]) == (second, book_id, member.id)
    assert client.get(f"/books/{book_id}").get_json()["copies_available"] == 1
    assert code(lend(client, member, barcode=barcodes(client, book_id)[0])) == "already_borrowed"
    assert is_problem(lend(client, member, barcode="NOPE"), 404)
    assert is_problem(lend(client, member, barcode=second, book_id=book_id), 400)
    assert is_problem(lend(client, member), 400)
    assert actions(app) == []  # a member's own loan is not a staff action


def test_admin_lends_by_barcode_for_a_member_and_it_is_audited(app, client, admin, member, make_book):
    book_id = make_book(copies=1)
    (barcode,) = barcodes(client, book_id)
    loan = lend(client, admin, barcode=barcode, user_id=member.id)
    assert loan.status_code == 201 and loan.json["user_id"] == member.id
    assert code(lend(client, admin, barcode=barcode, user_id=admin.id)) == "item_unavailable"
    assert code(lend(client, admin, book_id=book_id, user_id=admin.id)) == "no_copy_available"
    assert actions(app) == ["loan.created"]


def test_checkin_puts_the_item_back_on_the_shelf(app, client, admin, member, make_book):
    book_id = make_book(copies=1)
    (barcode,) = barcodes(client, book_id)
    loan = lend(client, member, book_id=book_id).get_json()
    response = checkin(client, admin, barcode=barcode)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["loan"]["id"] == loan["id"] and body["loan"]["status"] == "returned"
    assert (body["item"]["status"], body["hold"]) == ("available", None)
    assert code(checkin(client, admin, barcode=barcode)) == "item_unavailable"
    assert is_problem(checkin(client, admin, barcode="NOPE"), 404)
    assert client.post("/loans/checkin", json={"barcode": barcode}, headers=member.headers).status_code == 403
    assert actions(app) == ["loan.checked_in"]
    with app.app_context():
        assert_invariants()


def test_checkin_passes_the_item_to_the_first_waiting_hold(app, client, admin, member, other_member,
                                                          make_member, make_book, outbox):
    book_id = make_book(copies=1)
    (barcode,) = barcodes(client, book_id)
    lend(client, member, book_id=book_id)
    carol = make_member("carol")
    first = client.post("/holds", json={"book_id": book_id}, headers=other_member.headers).get_json()
    client.post("/holds", json={"book_id": book_id}, headers=carol.headers)
    body = checkin(client, admin, barcode=barcode).get_json()
    assert body["item"]["status"] == "on_hold_shelf"
    assert (body["hold"]["id"], body["hold"]["status"], body["hold"]["user_id"]) == (
        first["id"], "ready", other_member.id)
    assert [n.recipient for n in outbox()] == [other_member.email]
    # The item is kept for them: another member scanning it is refused, they get it.
    assert code(lend(client, carol, barcode=barcode)) == "reserved_for_other"
    assert lend(client, other_member, barcode=barcode).status_code == 201
    with app.app_context():
        assert_invariants()


def test_lending_another_copy_to_a_member_with_a_ready_hold_passes_the_kept_one_on(
        app, client, admin, member, other_member, make_member, make_book):
    book_id = make_book(copies=2)
    first, second = barcodes(client, book_id)
    lend(client, member, barcode=first)
    lend(client, make_member("dave"), barcode=second)
    hold = client.post("/holds", json={"book_id": book_id}, headers=other_member.headers).get_json()
    assert checkin(client, admin, barcode=first).json["hold"]["id"] == hold["id"]  # first kept for them
    assert checkin(client, admin, barcode=second).json["item"]["status"] == "available"
    # At the desk they are handed the second copy: their hold is fulfilled, the first goes back.
    loan = lend(client, admin, barcode=second, user_id=other_member.id)
    assert loan.status_code == 201 and loan.json["barcode"] == second
    assert client.get(f"/holds/{hold['id']}", headers=other_member.headers).json["status"] == "fulfilled"
    statuses = {i["barcode"]: i["status"] for i in client.get(f"/books/{book_id}/items").json["items"]}
    assert statuses == {first: "available", second: "on_loan"}
    with app.app_context():
        assert_invariants()


def test_book_drop_checkin_is_backdated_within_the_loan(app, client, admin, member, make_book, travel):
    book_id = make_book(copies=1)
    (barcode,) = barcodes(client, book_id)
    loan = lend(client, member, book_id=book_id).get_json()
    travel(timedelta(days=3), admin)
    now = utcnow()
    future = (now + timedelta(minutes=5)).isoformat()
    before = (now - timedelta(days=4)).isoformat()
    assert "returned_at" in checkin(client, admin, barcode=barcode, returned_at=future).json["errors"]
    assert "returned_at" in checkin(client, admin, barcode=barcode, returned_at=before).json["errors"]
    dropped = (now - timedelta(days=2)).replace(microsecond=0)
    body = checkin(client, admin, barcode=barcode, returned_at=dropped.isoformat()).get_json()
    assert body["loan"]["id"] == loan["id"]
    assert body["loan"]["returned_at"].startswith(dropped.strftime("%Y-%m-%dT%H:%M:%S"))


def test_offline_loan_in_the_past_and_due_date_corrections(app, client, admin, member, make_book):
    book_id = make_book(copies=1)
    now = utcnow()
    borrowed, due = now - timedelta(days=20), now - timedelta(days=6)
    loan = lend(client, admin, book_id=book_id, user_id=member.id,
                borrowed_at=borrowed.isoformat(), due_at=due.isoformat())
    assert loan.status_code == 201, loan.get_json()
    assert loan.json["status"] == "overdue"
    for body in ({"borrowed_at": (now + timedelta(hours=1)).isoformat()},
                 {"borrowed_at": borrowed.isoformat(), "due_at": (borrowed - timedelta(days=1)).isoformat()}):
        assert is_problem(lend(client, admin, book_id=make_book(), **body), 400)
    assert is_problem(lend(client, member, book_id=make_book(), borrowed_at=borrowed.isoformat()), 400)
    url = f"/loans/{loan.json['id']}"
    later = (now + timedelta(days=7)).isoformat()
    assert client.patch(url, json={"due_at": later}, headers=admin.headers).json["status"] == "active"
    past = (now - timedelta(days=1)).isoformat()
    assert client.patch(url, json={"due_at": past}, headers=admin.headers).json["status"] == "overdue"
    too_early = (borrowed - timedelta(minutes=1)).isoformat()
    assert is_problem(client.patch(url, json={"due_at": too_early}, headers=admin.headers), 400)
    assert actions(app) == ["loan.created", "loan.due_date_changed", "loan.due_date_changed"]
    with app.app_context():
        entry = db.session.query(AuditEntry).filter_by(action="loan.created").one()
        assert entry.actor_id == admin.id and entry.data["offline"] is True


def test_every_circulation_refusal_has_its_code(app, client, admin, member, other_member, make_book):
    limit = app.config["MAX_ACTIVE_LOANS"]
    book_id = make_book(copies=1)
    loan = lend(client, member, book_id=book_id).get_json()
    assert code(lend(client, other_member, book_id=book_id)) == "no_copy_available"
    assert code(lend(client, member, book_id=book_id)) == "already_borrowed"
    assert code(client.post("/holds", json={"book_id": make_book()}, headers=member.headers)) == \
        "hold_not_needed"
    again = client.post("/holds", json={"book_id": book_id}, headers=member.headers)
    assert code(again) == "already_borrowed"
    hold = client.post("/holds", json={"book_id": book_id}, headers=other_member.headers).get_json()
    assert code(client.post("/holds", json={"book_id": book_id}, headers=other_member.headers)) == "duplicate"
    assert code(client.post(f"/loans/{loan['id']}/renew", headers=member.headers)) == "reserved_for_other"
    client.delete(f"/holds/{hold['id']}", headers=other_member.headers)
    assert code(client.delete(f"/holds/{hold['id']}", headers=other_member.headers)) == "hold_closed"
    for _ in range(app.config["MAX_RENEWALS"]):
        assert client.post(f"/loans/{loan['id']}/renew", headers=member.headers).status_code == 200
    assert code(client.post(f"/loans/{loan['id']}/renew", headers=member.headers)) == "renewal_limit"
    for _ in range(limit - 1):
        lend(client, member, book_id=make_book())
    assert code(lend(client, member, book_id=make_book())) == "loan_limit"
    now = utcnow()
    late = lend(client, admin, book_id=make_book(), user_id=other_member.id,
                borrowed_at=(now - timedelta(days=10)).isoformat(),
                due_at=(now - timedelta(days=1)).isoformat())
    renewal = client.post(f"/loans/{late.json['id']}/renew", headers=other_member.headers)
    assert code(renewal) == "loan_overdue"
    fresh = make_book()
    assert code(lend(client, other_member, book_id=fresh)) == "has_overdue"
    client.post(f"/loans/{loan['id']}/return", headers=member.headers)
    assert code(client.post(f"/loans/{loan['id']}/return", headers=member.headers)) == "loan_returned"
    assert code(client.post(f"/loans/{loan['id']}/renew", headers=member.headers)) == "loan_returned"
    assert code(client.patch(f"/loans/{loan['id']}", json={"due_at": utcnow().isoformat()},
                             headers=admin.headers)) == "loan_returned"
    client.patch(f"/users/{other_member.id}", json={"is_active": False}, headers=admin.headers)
    assert code(lend(client, admin, book_id=fresh, user_id=other_member.id)) == "account_inactive"


def test_overdue_blocks_with_its_code(client, member, make_book, travel):
    lend(client, member, book_id=make_book())
    travel(timedelta(days=30), member)
    assert code(lend(client, member, book_id=make_book())) == "has_overdue"
