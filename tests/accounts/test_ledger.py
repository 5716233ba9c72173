"""The ledger over HTTP: signs and kinds, the balance, refusals, audit, authorisation."""

import pytest
from sqlalchemy import event

from api.accounts import service
from api.accounts.currency import validate_currency
from api.extensions import db
from api.models import AccountLine, AuditEntry
from tests.helpers import is_problem


def post(client, admin, user_id, what, **body):
    return client.post(f"/users/{user_id}/account/{what}", json=body, headers=admin.headers)


def test_new_member_owes_nothing_in_the_configured_currency(client, member):
    assert client.get("/users/me/account", headers=member.headers).get_json() == {
        "currency": "USD", "balance": 0}
    lines = client.get("/users/me/account/lines", headers=member.headers).get_json()
    assert lines["items"] == [] and lines["meta"]["total"] == 0


def test_charges_are_positive_credits_negative_and_the_balance_is_their_sum(client, admin, member):
    charge = post(client, admin, member.id, "charges", amount=500, note="lost book")
    assert charge.status_code == 201
    line = charge.get_json()
    assert (line["kind"], line["amount"], line["note"], line["created_by"], line["loan_id"]) == (
        "manual", 500, "lost book", admin.id, None)
    assert charge.headers["Location"].endswith(f"/users/{member.id}/account/lines/{line['id']}")
    assert client.get(charge.headers["Location"], headers=admin.headers).get_json() == line

    payment = post(client, admin, member.id, "payments", amount=150).get_json()
    assert (payment["kind"], payment["amount"], payment["note"]) == ("payment", -150, None)
    waiver = post(client, admin, member.id, "waivers", amount=50, note="first time").get_json()
    assert (waiver["kind"], waiver["amount"]) == ("waiver", -50)

    assert client.get("/users/me/account", headers=member.headers).get_json()["balance"] == 300
    assert client.get(f"/users/{member.id}/account", headers=admin.headers).get_json() == {
        "currency": "USD", "balance": 300}
    lines = client.get("/users/me/account/lines", headers=member.headers).get_json()["items"]
    assert [(x["kind"], x["amount"]) for x in lines] == [("waiver", -50), ("payment", -150), ("manual", 500)]
    admin_view = client.get(f"/users/{member.id}/account/lines?per_page=2", headers=admin.headers)
    assert admin_view.get_json()["meta"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2,
                                             "total_exact": True}
    assert 'rel="next"' in admin_view.headers["Link"]


def test_payment_or_waiver_above_the_balance_is_409_and_writes_nothing(client, admin, member):
    post(client, admin, member.id, "charges", amount=100, note="card")
    too_much = post(client, admin, member.id, "payments", amount=101)
    assert is_problem(too_much, 409) and too_much.get_json()["code"] == "payment_exceeds_balance"
    waiver = post(client, admin, member.id, "waivers", amount=101, note="x")
    assert is_problem(waiver, 409) and waiver.get_json()["code"] == "waiver_exceeds_balance"
    assert post(client, admin, member.id, "payments", amount=100).status_code == 201
    nothing_owed = post(client, admin, member.id, "payments", amount=1)
    assert nothing_owed.get_json()["code"] == "payment_exceeds_balance"
    assert client.get("/users/me/account", headers=member.headers).get_json()["balance"] == 0


@pytest.mark.parametrize("what, body", [
    ("waivers", {"amount": 10}), ("waivers", {"amount": 10, "note": ""}),
    ("waivers", {"amount": 10, "note": "   "}), ("charges", {"amount": 10}),
    ("payments", {"amount": 0}), ("payments", {"amount": -5}), ("charges", {"amount": 5, "note": "x\x00"}),
    ("payments", {"amount": "10"}), ("payments", {"amount": 1.5}), ("payments", {"amount": True}),
    ("charges", {"amount": 10**12, "note": "x"}), ("payments", {"amount": 5, "kind": "waiver"}),
    ("payments", {}),
])
def test_invalid_money_input_is_400(client, admin, member, what, body):
    post(client, admin, member.id, "charges", amount=100, note="card")
    response = post(client, admin, member.id, what, **body)
    assert is_problem(response, 400), response.get_json()
    assert client.get("/users/me/account", headers=member.headers).get_json()["balance"] == 100


def test_every_money_movement_is_audited_with_its_admin(client, admin, member):
    post(client, admin, member.id, "charges", amount=300, note="lost book")
    post(client, admin, member.id, "payments", amount=100, note="cash")
    post(client, admin, member.id, "waivers", amount=50, note="goodwill")
    post(client, admin, member.id, "payments", amount=999)  # refused: no entry
    entries = client.get(f"/admin/audit?object_type=account&object_id={member.id}",
                         headers=admin.headers).get_json()["items"]
    assert [(e["action"], e["actor_id"], e["data"]["amount"], e["data"]["balance_after"])
            for e in entries] == [("account.waived", admin.id, -50, 150),
                                  ("account.paid", admin.id, -100, 200),
                                  ("account.charged", admin.id, 300, 300)]
    assert entries[0]["data"]["note"] == "goodwill"


def test_members_read_only_their_own_account_and_cannot_move_money(client, admin, member, other_member):
    post(client, admin, other_member.id, "charges", amount=100, note="card")
    for path in (f"/users/{other_member.id}/account", f"/users/{other_member.id}/account/lines",
                 "/users/999999/account"):
        assert is_problem(client.get(path, headers=member.headers), 404), path
    own = client.get(f"/users/{member.id}/account", headers=member.headers)
    assert own.get_json() == {"currency": "USD", "balance": 0}
    for what in ("payments", "waivers", "charges"):
        for target in (member.id, other_member.id):
            response = post(client, member, target, what, amount=10, note="x")
            assert is_problem(response, 403), (what, target)
    line_id = client.get(f"/users/{other_member.id}/account/lines", headers=admin.headers
                         ).get_json()["items"][0]["id"]
    assert is_problem(client.get(f"/users/{other_member.id}/account/lines/{line_id}",
                                 headers=member.headers), 403)
    assert is_problem(client.get(f"/users/{member.id}/account/lines/{line_id}", headers=admin.headers), 404)
    assert is_problem(client.get("/users/me/account"), 401)
    assert client.get(f"/users/{other_member.id}/account", headers=admin.headers).get_json()["balance"] == 100


def test_unknown_member_is_404_for_admins(client, admin):
    assert is_problem(post(client, admin, 424242, "payments", amount=1), 404)
    assert is_problem(client.get("/users/424242/account", headers=admin.headers), 404)


def test_balance_is_summed_by_the_database_not_loaded(app_ctx, admin, member):
    for amount in (100, 200, 300):
        service.charge(db.session, user_id=member.id, amount=amount, note="x", actor_id=admin.id)
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement.lower())

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert service.balance(db.session, member.id) == 600
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len(statements) == 1 and "sum(account_lines.amount)" in statements[0]
    assert "account_lines.id" not in statements[0]


def test_the_database_refuses_a_line_with_the_wrong_sign(app_ctx, member):
    from sqlalchemy.exc import IntegrityError

    for kind, amount in (("payment", 10), ("waiver", 0), ("manual", -1), ("manual", 0),
                         ("overdue", -1), ("refund", 5)):
        db.session.add(AccountLine(user_id=member.id, kind=kind, amount=amount))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
    assert db.session.query(AuditEntry).count() == 0


def test_currency_is_checked_at_start_up(redis_url, database_url):
    from api import create_app

    assert validate_currency("EUR") == "EUR"
    for bad in ("usd", "EURO", "XXX", ""):
        with pytest.raises(RuntimeError, match="CURRENCY"):
            create_app("testing", REDIS_URL=redis_url, SQLALCHEMY_DATABASE_URI=database_url, CURRENCY=bad)
    app = create_app("testing", REDIS_URL=redis_url, SQLALCHEMY_DATABASE_URI=database_url, CURRENCY="JPY")
    with app.app_context():
        assert service.currency() == "JPY"
