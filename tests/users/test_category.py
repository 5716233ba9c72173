"""Patron categories: the default, admins setting them, and the audit of account changes."""

import pytest

from tests.conftest import create_user, is_problem


def audit(client, admin, user_id):
    body = client.get(f"/admin/audit?object_type=user&object_id={user_id}", headers=admin.headers).get_json()
    return [(e["action"], e["data"], e["actor_id"]) for e in body["items"]]


def test_new_members_get_the_default_category(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "DEFAULT_PATRON_CATEGORY", "reader")
    body = client.post("/users/register", json={"username": "carol", "email": "carol@example.com",
                                                "password": "a long password"}).get_json()
    assert body["category"] == "reader"


def test_admin_sets_category_and_it_is_audited(client, admin, member):
    response = client.patch(f"/users/{member.id}", headers=admin.headers, json={"category": "child"})
    assert response.status_code == 200 and response.get_json()["category"] == "child"
    assert client.get("/users/me", headers=member.headers).get_json()["category"] == "child"
    client.patch(f"/users/{member.id}", headers=admin.headers, json={"category": "child"})  # no change
    assert audit(client, admin, member.id) == [("user.updated", {"category": ["adult", "child"]}, admin.id)]


def test_every_account_change_by_an_admin_is_audited(client, admin, app):
    other = create_user(app, "dana")
    client.patch(f"/users/{other.id}", headers=admin.headers, json={"role": "admin", "username": "dana2"})
    client.patch(f"/users/{other.id}", headers=admin.headers, json={"is_active": False})
    client.patch(f"/users/{other.id}", headers=admin.headers, json={"email": "Dana@Elsewhere.example"})
    assert audit(client, admin, other.id) == [
        ("user.updated", {"email": ["dana@example.com", "dana@elsewhere.example"]}, admin.id),
        ("user.updated", {"is_active": [True, False]}, admin.id),
        ("user.updated", {"role": ["user", "admin"], "username": ["dana", "dana2"]}, admin.id)]


def test_refused_change_leaves_no_audit_entry(client, admin):
    refused = client.patch(f"/users/{admin.id}", headers=admin.headers, json={"role": "user"})
    assert is_problem(refused, 409)
    assert audit(client, admin, admin.id) == []


@pytest.mark.parametrize("category", ["Child", "", "x" * 33, "*", "a b", 7])
def test_category_must_be_a_code(client, admin, member, category):
    response = client.patch(f"/users/{member.id}", headers=admin.headers, json={"category": category})
    assert is_problem(response, 400)


def test_members_cannot_set_their_category(client, member):
    response = client.patch("/users/me", headers=member.headers, json={"category": "staff"})
    assert is_problem(response, 400) and set(response.get_json()["errors"]) == {"category"}
