"""Every 409 of accounts and the catalog carries its machine-readable `code`."""

from tests.helpers import is_problem


def _code(response) -> str:
    assert is_problem(response, 409), response.get_json()
    return response.get_json()["code"]


def test_duplicate_registration(client, member):
    body = {"username": "alice", "email": "alice@example.com", "password": "a long password"}
    assert _code(client.post("/users/register", json=body)) == "duplicate"


def test_duplicate_rename(client, admin, member, other_member):
    response = client.patch(f"/users/{member.id}", json={"username": "bob"}, headers=admin.headers)
    assert _code(response) == "duplicate"


def test_last_admin(client, admin):
    response = client.patch(f"/users/{admin.id}", json={"role": "user"}, headers=admin.headers)
    assert _code(response) == "last_admin"
    assert _code(client.delete(f"/users/{admin.id}", headers=admin.headers)) == "last_admin"


def test_user_and_book_with_active_loans(client, admin, member, make_book):
    book_id = make_book(copies=1)
    assert client.post("/loans", json={"book_id": book_id}, headers=member.headers).status_code == 201
    assert _code(client.delete(f"/users/{member.id}", headers=admin.headers)) == "has_active_loans"
    assert _code(client.delete(f"/books/{book_id}", headers=admin.headers)) == "has_active_loans"
    response = client.patch(f"/books/{book_id}", json={"copies": 0}, headers=admin.headers)
    assert _code(response) == "items_in_use"


def test_duplicate_isbn(client, admin, make_book):
    make_book(isbn="9780306406157")
    body = {"title": "T", "author": "A", "isbn": "0-306-40615-2", "published_year": 2000, "copies": 1}
    assert _code(client.post("/books", json=body, headers=admin.headers)) == "duplicate"


def test_a_member_who_owes_money_is_not_deleted(client, admin, member):
    account = f"/users/{member.id}/account"
    assert client.post(f"{account}/charges", json={"amount": 500, "note": "lost book"},
                       headers=admin.headers).status_code == 201
    assert _code(client.delete(f"/users/{member.id}", headers=admin.headers)) == "balance_outstanding"
    assert client.get(account, headers=admin.headers).get_json()["balance"] == 500  # nothing went
    assert client.post(f"{account}/waivers", json={"amount": 500, "note": "goodwill"},
                       headers=admin.headers).status_code == 201
    assert client.delete(f"/users/{member.id}", headers=admin.headers).status_code == 204
    [entry] = client.get(f"/admin/audit?object_type=user&object_id={member.id}",
                         headers=admin.headers).get_json()["items"]
    assert entry["action"] == "user.deleted" and entry["data"]["balance"] == 0
