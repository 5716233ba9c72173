"""The account side of circulation: a balance over the limit or an admin block refuses
borrow, renew and holds (returns always work), and every return settles the fine."""

from datetime import timedelta

from api.clock import utcnow
from tests.helpers import is_problem


def _code(response):
    return response.get_json().get("code")


def _charge(client, admin, member, amount):
    response = client.post(f"/users/{member.id}/account/charges", json={"amount": amount, "note": "lost"},
                           headers=admin.headers)
    assert response.status_code == 201


def _iso(delta_days):
    return (utcnow() + timedelta(days=delta_days)).isoformat()


def test_balance_over_the_limit_refuses_borrow_renew_and_hold_but_not_return(
        client, admin, member, make_book):
    lent, other, full = make_book(copies=1), make_book(copies=1), make_book(copies=1)
    loan = client.post("/loans", json={"book_id": lent}, headers=member.headers).get_json()
    client.post("/loans", json={"book_id": full, "user_id": admin.id}, headers=admin.headers)
    _charge(client, admin, member, 501)  # max_balance defaults to 500: strictly above

    borrow = client.post("/loans", json={"book_id": other}, headers=member.headers)
    assert is_problem(borrow, 409) and _code(borrow) == "balance_limit"
    renew = client.post(f"/loans/{loan['id']}/renew", headers=member.headers)
    assert is_problem(renew, 409) and _code(renew) == "balance_limit"
    hold = client.post("/holds", json={"book_id": full}, headers=member.headers)
    assert is_problem(hold, 409) and _code(hold) == "balance_limit"
    assert client.post(f"/loans/{loan['id']}/return", headers=member.headers).status_code == 200

    client.post(f"/users/{member.id}/account/payments", json={"amount": 1}, headers=admin.headers)
    assert client.post("/loans", json={"book_id": other}, headers=member.headers).status_code == 201


def test_a_block_refuses_borrowing_until_it_is_lifted(client, admin, member, make_book):
    book = make_book(copies=2)
    block = client.post(f"/users/{member.id}/blocks", json={"reason": "card reported stolen"},
                        headers=admin.headers).get_json()
    refused = client.post("/loans", json={"book_id": book}, headers=member.headers)
    assert is_problem(refused, 409) and _code(refused) == "patron_blocked"
    assert "card reported stolen" in refused.get_json()["detail"]
    client.delete(f"/users/{member.id}/blocks/{block['id']}", headers=admin.headers)
    assert client.post("/loans", json={"book_id": book}, headers=member.headers).status_code == 201


def _overdue_lines(client, admin, member):
    lines = client.get(f"/users/{member.id}/account/lines", headers=admin.headers).get_json()["items"]
    return [(line["kind"], line["amount"], line["loan_id"]) for line in lines if line["kind"] == "overdue"]


def test_a_backdated_checkin_settles_the_fine_to_the_return_day(client, admin, member, make_book, fines):
    fines(per_day=10)
    book = make_book(copies=1)
    loan = client.post("/loans", json={"book_id": book, "user_id": member.id, "borrowed_at": _iso(-20),
                                       "due_at": _iso(-5)}, headers=admin.headers).get_json()
    done = client.post("/loans/checkin", json={"barcode": loan["barcode"], "returned_at": _iso(-2)},
                       headers=admin.headers)
    assert done.status_code == 200, done.get_json()
    # Due 5 days ago, back 2 days ago: 3 library days after the due day.
    assert _overdue_lines(client, admin, member) == [("overdue", 30, loan["id"])]


def test_a_members_return_settles_the_fine_to_today(client, admin, member, make_book, fines):
    fines(per_day=10)
    book = make_book(copies=1)
    loan = client.post("/loans", json={"book_id": book, "user_id": member.id, "borrowed_at": _iso(-20),
                                       "due_at": _iso(-4)}, headers=admin.headers).get_json()
    assert client.post(f"/loans/{loan['id']}/return", headers=member.headers).status_code == 200
    assert _overdue_lines(client, admin, member) == [("overdue", 40, loan["id"])]


def test_no_fines_configured_writes_no_line(client, admin, member, make_book):
    book = make_book(copies=1)
    loan = client.post("/loans", json={"book_id": book, "user_id": member.id, "borrowed_at": _iso(-20),
                                       "due_at": _iso(-4)}, headers=admin.headers).get_json()
    assert client.post(f"/loans/{loan['id']}/return", headers=member.headers).status_code == 200
    assert _overdue_lines(client, admin, member) == []
