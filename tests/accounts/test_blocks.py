"""Admin blocks, the member's view of them, and account_blockers (the borrow-check seam)."""

from datetime import timedelta

from api import clock
from api.accounts import service
from api.accounts.blockers import account_blockers
from api.extensions import db
from api.models import User
from api.rules.resolve import effective_rule
from tests.helpers import is_problem, login


def block(client, admin, user_id, **body):
    return client.post(f"/users/{user_id}/blocks", json=body, headers=admin.headers)


def test_block_lifecycle_and_audit(client, admin, member):
    response = block(client, admin, member.id, reason="Card reported stolen")
    assert response.status_code == 201
    made = response.get_json()
    assert (made["user_id"], made["reason"], made["expires_at"], made["active"], made["created_by"]) == (
        member.id, "Card reported stolen", None, True, admin.id)
    assert client.get(response.headers["Location"], headers=admin.headers).get_json() == made
    listing = client.get(f"/users/{member.id}/blocks", headers=admin.headers).get_json()
    assert [b["id"] for b in listing["items"]] == [made["id"]] and listing["meta"]["total"] == 1

    assert client.delete(f"/users/{member.id}/blocks/{made['id']}", headers=admin.headers).status_code == 204
    assert is_problem(client.delete(f"/users/{member.id}/blocks/{made['id']}", headers=admin.headers), 404)
    assert client.get(f"/users/{member.id}/blocks", headers=admin.headers).get_json()["items"] == []
    audit = client.get(f"/admin/audit?object_type=user&object_id={member.id}",
                       headers=admin.headers).get_json()["items"]
    assert [(e["action"], e["actor_id"], e["data"]["block_id"]) for e in audit] == [
        ("user.unblocked", admin.id, made["id"]), ("user.blocked", admin.id, made["id"])]


def test_member_sees_own_active_blocks_in_me(client, admin, member):
    assert client.get("/users/me", headers=member.headers).get_json()["blocks"] == []
    until = (clock.utcnow() + timedelta(days=2)).isoformat()
    block(client, admin, member.id, reason="Unpaid replacement", expires_at=until)
    block(client, admin, member.id, reason="Talk to the desk")
    me = client.get("/users/me", headers=member.headers).get_json()
    assert [b["reason"] for b in me["blocks"]] == ["Talk to the desk", "Unpaid replacement"]
    assert me["username"] == member.username
    clock.advance(timedelta(days=3))
    login(client, member), login(client, admin)  # their tokens expired meanwhile
    assert [b["reason"] for b in client.get("/users/me", headers=member.headers).get_json()["blocks"]] == [
        "Talk to the desk"]
    ended = client.get(f"/users/{member.id}/blocks", headers=admin.headers).get_json()["items"]
    assert [(b["reason"], b["active"]) for b in ended] == [("Talk to the desk", True),
                                                          ("Unpaid replacement", False)]


def test_bad_blocks_are_refused(client, admin, member, other_member):
    past = (clock.utcnow() - timedelta(minutes=1)).isoformat()
    assert is_problem(block(client, admin, member.id, reason="x", expires_at=past), 400)
    assert is_problem(block(client, admin, member.id, reason=""), 400)
    assert is_problem(block(client, admin, member.id), 400)
    assert is_problem(block(client, admin, member.id, reason="x", expires_at="soon"), 400)
    assert is_problem(block(client, admin, 987654, reason="x"), 404)
    other = block(client, admin, other_member.id, reason="x").get_json()
    # Another member's block id under this member's URL is not found.
    assert is_problem(client.delete(f"/users/{member.id}/blocks/{other['id']}", headers=admin.headers), 404)
    assert is_problem(block(client, member, member.id, reason="x"), 403)
    assert is_problem(client.get(f"/users/{member.id}/blocks", headers=member.headers), 403)


def test_account_blockers(app_ctx, admin, member, client):
    rule = effective_rule(db.session, patron_category="adult", item_type="book")
    user = db.session.get(User, member.id)
    assert account_blockers(db.session, user, rule=rule) == []

    service.charge(db.session, user_id=member.id, amount=rule.max_balance, note="at the limit",
                   actor_id=admin.id)
    assert account_blockers(db.session, user, rule=rule) == []  # "exceeds": at the limit is fine
    service.charge(db.session, user_id=member.id, amount=1, note="one over", actor_id=admin.id)
    codes = [code for code, _ in account_blockers(db.session, user, rule=rule)]
    assert codes == ["balance_limit"]

    until = clock.utcnow() + timedelta(hours=1)
    block(client, admin, member.id, reason="Card stolen", expires_at=until.isoformat())
    found = account_blockers(db.session, user, rule=rule)
    assert [code for code, _ in found] == ["balance_limit", "patron_blocked"]
    assert "Card stolen" in found[1][1]

    service.pay(db.session, user_id=member.id, amount=1, actor_id=admin.id)
    clock.advance(timedelta(hours=2))
    assert account_blockers(db.session, user, rule=rule) == []
