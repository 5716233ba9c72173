"""Items over HTTP: creation with books, the item endpoints, status rules, and the
copy counts that are derived from the items."""

from api.extensions import db
from api.models import AuditEntry
from tests.helpers import is_problem
from tests.invariants.checks import assert_invariants

BOOK = {"title": "Dune", "author": "Frank Herbert", "isbn": "9780306406157", "published_year": 1965}


def counts(client, book_id):
    body = client.get(f"/books/{book_id}").get_json()
    return body["copies_total"], body["copies_available"]


def items_of(client, book_id):
    return client.get(f"/books/{book_id}/items").get_json()["items"]


def audit(app, action):
    with app.app_context():
        return [(e.actor_id, e.object_id, e.data) for e in
                db.session.query(AuditEntry).filter_by(action=action).order_by(AuditEntry.id)]


def test_post_books_creates_items_with_generated_barcodes(app, client, admin):
    created = client.post("/books", json={**BOOK, "copies": 3, "item_type": "dvd"},
                          headers=admin.headers).get_json()
    items = items_of(client, created["id"])
    assert [i["barcode"] for i in items] == [f"{created['id']}-{k}" for k in (1, 2, 3)]
    assert {(i["item_type"], i["status"], i["due_at"]) for i in items} == {("dvd", "available", None)}
    assert set(items[0]) == {"id", "book_id", "barcode", "item_type", "status", "due_at"}
    assert counts(client, created["id"]) == (3, 3)
    bad = client.post("/books", json={**BOOK, "isbn": "0-306-40615-2", "copies": 1, "item_type": "*"},
                      headers=admin.headers)
    assert is_problem(bad, 400) and "item_type" in bad.get_json()["errors"]


def test_item_crud_and_audit(app, client, admin, member, make_book):
    book_id = make_book(copies=1)
    response = client.post(f"/books/{book_id}/items", json={"barcode": "LIB-0001"}, headers=admin.headers)
    assert response.status_code == 201
    assert response.headers["Location"].endswith(f"/items/{response.json['id']}")
    item = response.get_json()
    assert (item["barcode"], item["item_type"], item["status"]) == ("LIB-0001", "book", "available")
    assert counts(client, book_id) == (2, 2)
    duplicate = client.post(f"/books/{book_id}/items", json={"barcode": "LIB-0001"}, headers=admin.headers)
    assert is_problem(duplicate, 409) and duplicate.get_json()["code"] == "duplicate"
    found = client.get("/items?barcode=LIB-0001", headers=admin.headers).get_json()
    assert [i["id"] for i in found["items"]] == [item["id"]]
    assert client.get(f"/items/{item['id']}", headers=admin.headers).get_json() == item
    assert client.get(f"/items/{item['id']}", headers=member.headers).status_code == 403
    assert client.get("/items", headers=member.headers).status_code == 403
    assert is_problem(client.get("/items", headers=admin.headers), 400)  # a lookup, not a scan
    patched = client.patch(f"/items/{item['id']}", json={"barcode": "LIB-0002", "item_type": "magazine"},
                           headers=admin.headers).get_json()
    assert (patched["barcode"], patched["item_type"]) == ("LIB-0002", "magazine")
    assert client.delete(f"/items/{item['id']}", headers=admin.headers).status_code == 204
    assert is_problem(client.get(f"/items/{item['id']}", headers=admin.headers), 404)
    assert counts(client, book_id) == (1, 1)
    assert [a[1] for a in audit(app, "item.created")] == [str(item["id"])]
    assert audit(app, "item.updated")[0][2]["changes"] == {"barcode": ["LIB-0001", "LIB-0002"],
                                                          "item_type": ["book", "magazine"]}
    assert audit(app, "item.deleted")[0][0] == admin.id


def test_status_changes_move_the_counts(app, client, admin, make_book):
    book_id = make_book(copies=3)
    first, second, third = (i["id"] for i in items_of(client, book_id))

    def status(item_id, value):
        return client.patch(f"/items/{item_id}", json={"status": value}, headers=admin.headers)

    assert status(first, "damaged").get_json()["status"] == "damaged"
    assert counts(client, book_id) == (3, 2)  # damaged: still owned, not lendable
    status(second, "lost")
    assert counts(client, book_id) == (2, 1)
    status(third, "withdrawn")
    assert counts(client, book_id) == (1, 0)
    assert client.get("/books?available=true").get_json()["meta"]["total"] == 0
    status(second, "available")
    assert counts(client, book_id) == (2, 1)
    for bad in ("on_loan", "on_hold_shelf", "stolen"):
        assert is_problem(status(first, bad), 400)
    with app.app_context():
        assert_invariants()


def test_items_on_loan_or_on_the_hold_shelf_cannot_change_status_or_go(app, client, admin, member,
                                                                      other_member, make_book):
    book_id = make_book(copies=1)
    (item,) = items_of(client, book_id)
    loan = client.post("/loans", json={"book_id": book_id}, headers=member.headers).get_json()
    assert loan["item_id"] == item["id"] and loan["barcode"] == item["barcode"]
    (public,) = items_of(client, book_id)
    assert public["status"] == "on_loan" and public["due_at"] == loan["due_at"]
    assert "user_id" not in public
    for response in (client.patch(f"/items/{item['id']}", json={"status": "lost"}, headers=admin.headers),
                     client.delete(f"/items/{item['id']}", headers=admin.headers)):
        assert is_problem(response, 409) and response.get_json()["code"] == "item_in_use"
    client.post("/holds", json={"book_id": book_id}, headers=other_member.headers)
    client.post(f"/loans/{loan['id']}/return", headers=member.headers)
    assert items_of(client, book_id)[0]["status"] == "on_hold_shelf"
    response = client.patch(f"/items/{item['id']}", json={"status": "withdrawn"}, headers=admin.headers)
    assert is_problem(response, 409) and response.get_json()["code"] == "item_in_use"
    # Barcode and type may still be corrected.
    fixed = client.patch(f"/items/{item['id']}", json={"barcode": "X1"}, headers=admin.headers)
    assert fixed.status_code == 200
    with app.app_context():
        assert_invariants()


def test_a_new_or_repaired_item_goes_to_the_hold_queue_first(app, client, admin, member, other_member,
                                                            make_member, make_book):
    book_id = make_book(copies=2)
    spare = items_of(client, book_id)[1]["id"]
    client.patch(f"/items/{spare}", json={"status": "damaged"}, headers=admin.headers)
    client.post("/loans", json={"book_id": book_id}, headers=member.headers)
    waiters = [other_member, make_member("carol")]
    holds = [client.post("/holds", json={"book_id": book_id}, headers=w.headers).get_json() for w in waiters]
    repaired = client.patch(f"/items/{spare}", json={"status": "available"}, headers=admin.headers).get_json()
    assert repaired["status"] == "on_hold_shelf"
    # The audit entry says where the item went, not only what staff asked for.
    assert audit(app, "item.updated")[-1][2]["changes"] == {"status": ["damaged", "on_hold_shelf"],
                                                            "hold_id": [None, holds[0]["id"]]}
    added = client.post(f"/books/{book_id}/items", json={"barcode": "NEW-1"}, headers=admin.headers).json
    assert added["status"] == "on_hold_shelf"
    statuses = [client.get(f"/holds/{h['id']}", headers=w.headers).get_json()["status"]
                for h, w in zip(holds, waiters, strict=True)]
    assert statuses == ["ready", "ready"]
    assert counts(client, book_id) == (3, 0)
    with app.app_context():
        assert_invariants()


def test_patch_copies_adds_or_withdraws_shelf_items(app, client, admin, member, make_book):
    book_id = make_book(copies=2)
    client.post("/loans", json={"book_id": book_id}, headers=member.headers)
    assert client.patch(f"/books/{book_id}", json={"copies": 4}, headers=admin.headers).status_code == 200
    barcodes = [i["barcode"] for i in items_of(client, book_id)]
    assert barcodes == [f"{book_id}-{k}" for k in range(1, 5)]
    assert counts(client, book_id) == (4, 3)
    response = client.patch(f"/books/{book_id}", json={"copies": 0}, headers=admin.headers)
    assert is_problem(response, 409) and response.get_json()["code"] == "items_in_use"
    assert client.patch(f"/books/{book_id}", json={"copies": 1}, headers=admin.headers).status_code == 200
    assert [i["status"] for i in items_of(client, book_id)] == ["on_loan"] + ["withdrawn"] * 3
    assert counts(client, book_id) == (1, 0)
    changes = audit(app, "book.copies_changed")
    assert [(actor, data["copies"]) for actor, _, data in changes] == [(admin.id, 4), (admin.id, 1)]
    assert changes[0][2]["added"] == [f"{book_id}-3", f"{book_id}-4"]
    assert changes[1][2]["withdrawn"] == [f"{book_id}-2", f"{book_id}-3", f"{book_id}-4"]
    with app.app_context():
        assert_invariants()


def test_unknown_book_or_item_is_404(client, admin):
    assert is_problem(client.get("/books/999/items"), 404)
    assert is_problem(client.post("/books/999/items", json={"barcode": "A"}, headers=admin.headers), 404)
    assert is_problem(client.patch("/items/999", json={"barcode": "A"}, headers=admin.headers), 404)
    assert is_problem(client.delete("/items/999", headers=admin.headers), 404)
