"""SPEC "Audit log": every staff action is recorded, with its actor, in the action's
own transaction; a member's own acts on their loans and holds are not staff actions."""

from tests.helpers import create_user

BOOK = {"title": "Dune", "author": "Frank Herbert", "isbn": "9780306406157", "published_year": 1965}


def entries(client, admin, **filters) -> list[tuple[str, str, dict]]:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    body = client.get(f"/admin/audit?{query}", headers=admin.headers).get_json()
    assert all(e["actor_id"] == admin.id for e in body["items"])
    return [(e["action"], e["object_id"], e["data"]) for e in reversed(body["items"])]


def test_staff_renew_return_and_hold_cancel_are_recorded(client, admin, member, other_member, make_book):
    book = make_book(copies=1)
    loan = client.post("/loans", json={"book_id": book}, headers=member.headers).get_json()
    hold = client.post("/holds", json={"book_id": book}, headers=other_member.headers).get_json()
    assert client.delete(f"/holds/{hold['id']}", headers=admin.headers).status_code == 204
    renewed = client.post(f"/loans/{loan['id']}/renew", headers=admin.headers).get_json()
    assert client.post(f"/loans/{loan['id']}/return", headers=admin.headers).status_code == 200
    recorded = entries(client, admin)
    assert [(action, object_id) for action, object_id, _ in recorded] == [
        ("hold.cancelled", str(hold["id"])), ("loan.renewed", str(loan["id"])),
        ("loan.checked_in", str(loan["id"]))]
    renewal = recorded[1][2]
    assert renewal["from"][:19] == loan["due_at"][:19] and renewal["to"][:19] == renewed["due_at"][:19]


def test_a_members_own_acts_are_not_recorded(client, admin, member, make_book):
    book = make_book(copies=1)
    loan = client.post("/loans", json={"book_id": book}, headers=member.headers).get_json()
    assert client.post(f"/loans/{loan['id']}/renew", headers=member.headers).status_code == 200
    assert client.post(f"/loans/{loan['id']}/return", headers=member.headers).status_code == 200
    hold = client.post("/holds", json={"book_id": make_book(copies=0)}, headers=member.headers).get_json()
    assert client.delete(f"/holds/{hold['id']}", headers=member.headers).status_code == 204
    assert client.get("/admin/audit", headers=admin.headers).get_json()["items"] == []


def test_catalog_and_account_deletion_are_recorded(app, client, admin):
    created = client.post("/books", json={**BOOK, "copies": 2}, headers=admin.headers).get_json()
    client.patch(f"/books/{created['id']}", json={"title": "Dune Messiah", "author": "Frank Herbert"},
                 headers=admin.headers)
    assert client.delete(f"/books/{created['id']}", headers=admin.headers).status_code == 204
    gone = create_user(app, "leaving").id
    assert client.delete(f"/users/{gone}", headers=admin.headers).status_code == 204
    book_id = str(created["id"])
    assert entries(client, admin) == [
        ("book.created", book_id, {"isbn": BOOK["isbn"], "title": "Dune",
                                   "added": [f"{created['id']}-1", f"{created['id']}-2"]}),
        ("book.updated", book_id, {"title": ["Dune", "Dune Messiah"]}),
        ("book.deleted", book_id, {"isbn": BOOK["isbn"], "title": "Dune Messiah"}),
        ("user.deleted", str(gone), {"username": "leaving", "role": "user", "balance": 0}),
    ]
