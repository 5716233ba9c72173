"""API3:2023 Broken Object Property Level Authorization.

Mass assignment: a member cannot set properties reserved for admins (role, active
flag, a loan's borrower or due date); each is refused as an unknown field, never
silently dropped or applied. Excessive exposure: outputs carry only public fields.
"""

import pytest

from tests.helpers import is_problem

# v2 adds the patron category (SPEC "Circulation rules"), set by admins only.
USER_FIELDS = {"id", "username", "email", "role", "is_active", "category", "created_at"}
# v2: loans name their item (SPEC "Items and the desk").
LOAN_FIELDS = {"id", "user_id", "book_id", "item_id", "barcode", "borrowed_at", "due_at", "returned_at",
               "renewals", "status"}


@pytest.mark.parametrize("extra", [
    {"role": "admin"}, {"is_active": True}, {"id": 1}, {"token_version": 0},
    {"password_hash": "x"}, {"created_at": "2020-01-01T00:00:00Z"}, {"category": "staff"},
])
def test_member_cannot_set_reserved_account_fields(client, member, extra):
    response = client.patch("/users/me", json={"username": "alice2", **extra}, headers=member.headers)
    assert is_problem(response, 400)
    assert set(response.get_json()["errors"]) == set(extra)
    me = client.get("/users/me", headers=member.headers).get_json()
    assert me["username"] == "alice" and me["role"] == "user"


@pytest.mark.parametrize("extra", [{"role": "admin"}, {"is_active": False}, {"id": 7}, {"category": "staff"}])
def test_registration_cannot_choose_reserved_fields(client, extra):
    body = {"username": "mallory", "email": "mallory@example.com", "password": "a long password", **extra}
    assert is_problem(client.post("/users/register", json=body), 400)


@pytest.mark.parametrize("extra_key", ["user_id", "due_at"])
def test_member_cannot_borrow_for_someone_else_or_choose_due_date(client, member, other_member,
                                                                  make_book, extra_key):
    book = make_book(copies=1)
    extra = {"user_id": other_member.id, "due_at": "2099-01-01T00:00:00Z"}
    response = client.post("/loans", json={"book_id": book, extra_key: extra[extra_key]},
                           headers=member.headers)
    assert is_problem(response, 400)
    assert extra_key in response.get_json()["errors"]
    assert client.get("/loans", headers=other_member.headers).get_json()["items"] == []


def test_member_cannot_change_a_due_date_or_hold_for_others(client, member, other_member, make_book,
                                                           loan_of):
    loan = loan_of(member, make_book(copies=1))
    assert is_problem(client.patch(f"/loans/{loan}", json={"due_at": "2099-01-01T00:00:00Z"},
                                   headers=member.headers), 403)
    response = client.post("/holds", json={"book_id": make_book(copies=0), "user_id": other_member.id},
                           headers=member.headers)
    assert is_problem(response, 400)


def test_admin_may_set_borrower_and_due_date(client, admin, member, make_book):
    response = client.post("/loans", json={"book_id": make_book(copies=1), "user_id": member.id,
                                           "due_at": "2099-01-01T00:00:00Z"}, headers=admin.headers)
    assert response.status_code == 201
    assert response.get_json()["user_id"] == member.id


def test_admins_cannot_set_passwords_either(client, admin, member):
    response = client.patch(f"/users/{member.id}", json={"password": "chosen by admin"},
                            headers=admin.headers)
    assert is_problem(response, 400)


def test_outputs_expose_only_public_fields(client, admin, member, make_book, loan_of):
    # SPEC v2: a member sees their own (active) blocks in GET /users/me.
    assert set(client.get("/users/me", headers=member.headers).get_json()) == USER_FIELDS | {"blocks"}
    users = client.get("/users", headers=admin.headers).get_json()["items"]
    assert all(set(user) == USER_FIELDS for user in users)
    loan = loan_of(member, make_book(copies=1))
    assert set(client.get(f"/loans/{loan}", headers=member.headers).get_json()) == LOAN_FIELDS
    registered = client.post("/users/register", json={
        "username": "frank", "email": "frank@example.com", "password": "a long password"})
    assert set(registered.get_json()) == USER_FIELDS
