"""Admin user management: GET /users, GET/PATCH/DELETE /users/<id>."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from api.clock import utcnow
from api.extensions import db
from api.models import Loan, PasswordResetToken, User
from tests.helpers import create_user, is_problem, take_item


def add_loan(app, user_id, book_id, *, returned=False):
    with app.app_context():
        now = utcnow()
        db.session.add(Loan(user_id=user_id, book_id=book_id, due_at=now + timedelta(days=14),
                            returned_at=now if returned else None))
        db.session.commit()


def test_list_users_paginated_with_link_header(app, client, admin):
    for i in range(4):
        create_user(app, f"user{i}")
    response = client.get("/users?per_page=2&page=2", headers=admin.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["meta"] == {"page": 2, "per_page": 2, "total": 5, "pages": 3, "total_exact": True}
    assert [u["username"] for u in body["items"]] == ["user1", "user2"]
    assert all("password_hash" not in u for u in body["items"])
    link = response.headers["Link"]
    for rel in ("first", "prev", "next", "last"):
        assert f'rel="{rel}"' in link


def test_list_q_is_a_case_insensitive_substring(app, client, admin):
    create_user(app, "carol", email="carol@books.org")
    create_user(app, "dave")
    create_user(app, "under_score")
    names = lambda q: [u["username"] for u in client.get(  # noqa: E731
        "/users", query_string={"q": q}, headers=admin.headers).get_json()["items"]]
    assert names("CAR") == ["carol"]
    assert names("BOOKS.ORG") == ["carol"]
    assert names("example.com") == ["admin", "dave", "under_score"]
    # LIKE wildcards are literal characters here.
    assert names("_") == ["under_score"]
    assert names("%") == []


def test_list_filters_by_role_and_active(app, client, admin):
    create_user(app, "carol", is_active=False)
    create_user(app, "dave")
    items = lambda qs: [u["username"] for u in client.get(  # noqa: E731
        "/users", query_string=qs, headers=admin.headers).get_json()["items"]]
    assert items({"role": "admin"}) == ["admin"]
    assert items({"is_active": "false"}) == ["carol"]
    assert items({"role": "user", "is_active": "true"}) == ["dave"]


@pytest.mark.parametrize("qs", ["page=0", "page=abc", "per_page=0", "role=root", "is_active=maybe",
                                "q=", "q=" + "x" * 101, "page=1&page=2", "bogus=1", "q=%00"])
def test_bad_list_arguments_are_400(client, admin, qs):
    assert is_problem(client.get(f"/users?{qs}", headers=admin.headers), 400)


@pytest.mark.parametrize("method, path", [
    ("get", "/users"), ("get", "/users/1"), ("patch", "/users/1"), ("delete", "/users/1")])
def test_members_get_403_on_admin_routes(client, member, method, path):
    response = getattr(client, method)(path, headers=member.headers, json={})
    assert is_problem(response, 403)


def test_anonymous_gets_401_on_admin_routes(client):
    assert is_problem(client.get("/users"), 401)
    assert is_problem(client.delete("/users/1"), 401)


def test_get_user_and_404(client, admin, member):
    assert client.get(f"/users/{member.id}", headers=admin.headers).get_json()["username"] == "alice"
    assert is_problem(client.get("/users/9999", headers=admin.headers), 404)
    assert is_problem(client.get("/users/99999999999999999999999", headers=admin.headers), 404)


def test_promote_and_edit(client, admin, member):
    response = client.patch(f"/users/{member.id}", headers=admin.headers,
                            json={"role": "admin", "username": "Alicia", "email": "Alicia@Example.com"})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["role"], body["username"], body["email"]) == ("admin", "alicia", "alicia@example.com")
    # Role comes from the database: the member's existing token now reaches admin routes.
    assert client.get("/users", headers=member.headers).status_code == 200


@pytest.mark.parametrize("body", [{"role": "root"}, {"is_active": "no"}, {"is_active": 0},
                                  {"password": "a new password"}, {"id": 5}, {"email": "x"}])
def test_bad_admin_patch_is_400(client, admin, member, body):
    assert is_problem(client.patch(f"/users/{member.id}", json=body, headers=admin.headers), 400)


def test_admin_patch_conflict_and_missing(client, admin, member, other_member):
    assert is_problem(client.patch(f"/users/{member.id}", json={"username": "bob"},
                                   headers=admin.headers), 409)
    assert is_problem(client.patch("/users/9999", json={"role": "user"}, headers=admin.headers), 404)


def test_last_admin_cannot_be_demoted_deactivated_or_deleted(client, admin):
    assert is_problem(client.patch(f"/users/{admin.id}", json={"role": "user"}, headers=admin.headers), 409)
    assert is_problem(client.patch(f"/users/{admin.id}", json={"is_active": False},
                                   headers=admin.headers), 409)
    assert is_problem(client.delete(f"/users/{admin.id}", headers=admin.headers), 409)
    assert client.get("/users/me", headers=admin.headers).get_json()["role"] == "admin"


def test_an_inactive_admin_does_not_count(app, client, admin):
    create_user(app, "dormant", role="admin", is_active=False)
    assert is_problem(client.patch(f"/users/{admin.id}", json={"role": "user"}, headers=admin.headers), 409)


def test_admin_can_step_down_when_another_remains(client, admin, make_member):
    make_member("root", role="admin")
    assert client.patch(f"/users/{admin.id}", json={"role": "user"}, headers=admin.headers).status_code == 200
    assert is_problem(client.get("/users", headers=admin.headers), 403)


def test_delete_with_active_loan_is_409(app, client, admin, member, make_book):
    add_loan(app, member.id, make_book())
    response = client.delete(f"/users/{member.id}", headers=admin.headers)
    assert is_problem(response, 409)
    assert client.get(f"/users/{member.id}", headers=admin.headers).status_code == 200


def test_delete_missing_user_is_404(client, admin):
    assert is_problem(client.delete("/users/9999", headers=admin.headers), 404)


def test_delete_cascades_history(app, client, admin, member, make_book, outbox):
    add_loan(app, member.id, make_book(), returned=True)
    client.post("/users/password-reset", json={"email": member.email})
    assert client.delete(f"/users/{member.id}", headers=admin.headers).status_code == 204
    assert is_problem(client.get(f"/users/{member.id}", headers=admin.headers), 404)
    assert is_problem(client.get("/users/me", headers=member.headers), 401)
    with app.app_context():
        assert db.session.get(User, member.id) is None
        assert db.session.scalars(select(Loan)).all() == []
        assert db.session.scalars(select(PasswordResetToken)).all() == []
    # The outbox keeps its record, detached from the deleted user.
    assert all(row.user_id is None for row in outbox("password_reset"))


def test_delete_releases_a_ready_hold(app, client, admin, member, make_book):
    from api.models import Book, Hold

    book_id = make_book(copies=1)
    with app.app_context():
        now = utcnow()
        db.session.add(Hold(user_id=member.id, book_id=book_id, status="ready", ready_at=now,
                            expires_at=now + timedelta(days=3), item_id=take_item(book_id, "on_hold_shelf")))
        db.session.commit()
    assert client.delete(f"/users/{member.id}", headers=admin.headers).status_code == 204
    with app.app_context():
        assert db.session.get(Book, book_id).copies_available == 1
