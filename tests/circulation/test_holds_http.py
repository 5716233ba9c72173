"""/holds over HTTP, and the loan/hold interplay end to end."""

from datetime import timedelta

from api.circulation.holds import expire_ready_holds
from api.clock import utcnow
from api.extensions import db
from tests.helpers import is_problem


def lend_out(client, account, make_book):
    """A one-copy book, lent to `account`: (book id, loan body)."""
    book_id = make_book(copies=1)
    return book_id, client.post("/loans", json={"book_id": book_id}, headers=account.headers).get_json()


def hold(client, account, book_id):
    return client.post("/holds", json={"book_id": book_id}, headers=account.headers)


def test_place_hold_201_and_queue(client, make_member, member, make_book, invariant):
    book_id, _ = lend_out(client, member, make_book)
    waiters = [make_member(f"w{i}") for i in range(3)]
    responses = [hold(client, w, book_id) for w in waiters]
    assert [r.status_code for r in responses] == [201, 201, 201]
    body = responses[1].get_json()
    assert set(body) == {"id", "user_id", "book_id", "status", "position", "created_at",
                         "ready_at", "expires_at", "suspended_until"}
    assert (body["status"], body["position"], body["ready_at"], body["suspended_until"]) == (
        "waiting", 2, None, None)
    assert responses[1].headers["Location"].endswith(f"/holds/{body['id']}")
    assert client.get(f"/holds/{body['id']}", headers=waiters[1].headers).get_json() == body
    assert is_problem(hold(client, waiters[0], book_id), 409)
    assert is_problem(hold(client, member, book_id), 409)
    assert is_problem(hold(client, member, make_book(copies=1)), 409)  # a copy is free
    assert is_problem(hold(client, member, 9999), 404)
    invariant(book_id)


def test_ready_hold_round_trip(app, client, member, other_member, make_member, make_book,
                               outbox, invariant):
    carol = make_member("carol")
    book_id, loan = lend_out(client, member, make_book)
    first = hold(client, other_member, book_id).get_json()
    second = hold(client, carol, book_id).get_json()
    # Another member waiting blocks renewal.
    assert is_problem(client.post(f"/loans/{loan['id']}/renew", headers=member.headers), 409)
    assert client.post(f"/loans/{loan['id']}/return", headers=member.headers).status_code == 200
    ready = client.get(f"/holds/{first['id']}", headers=other_member.headers).get_json()
    assert ready["status"] == "ready" and ready["position"] is None and ready["expires_at"]
    assert client.get(f"/holds/{second['id']}", headers=carol.headers).get_json()["position"] == 1
    assert client.get(f"/books/{book_id}").get_json()["copies_available"] == 0
    assert is_problem(client.post("/loans", json={"book_id": book_id}, headers=carol.headers), 409)
    assert is_problem(client.post("/loans", json={"book_id": book_id}, headers=member.headers), 409)
    got = client.post("/loans", json={"book_id": book_id}, headers=other_member.headers)
    assert got.status_code == 201
    assert client.get(f"/holds/{first['id']}", headers=other_member.headers).get_json()["status"] == (
        "fulfilled")
    assert [r.hold_id for r in outbox()] == [first["id"]]
    invariant(book_id)


def test_delete_ready_hold_passes_copy_and_204(app, client, member, other_member, make_member,
                                               make_book, outbox, invariant):
    carol = make_member("carol")
    book_id, loan = lend_out(client, member, make_book)
    first = hold(client, other_member, book_id).get_json()
    second = hold(client, carol, book_id).get_json()
    client.post(f"/loans/{loan['id']}/return", headers=member.headers)
    assert is_problem(client.delete(f"/holds/{first['id']}", headers=carol.headers), 404)
    assert client.delete(f"/holds/{first['id']}", headers=other_member.headers).status_code == 204
    assert is_problem(client.delete(f"/holds/{first['id']}", headers=other_member.headers), 409)
    assert client.get(f"/holds/{second['id']}", headers=carol.headers).get_json()["status"] == "ready"
    assert [r.hold_id for r in outbox()] == [first["id"], second["id"]]
    invariant(book_id)


def test_expiry_over_http_state(app, client, member, other_member, make_book, invariant):
    book_id, loan = lend_out(client, member, make_book)
    first = hold(client, other_member, book_id).get_json()
    client.post(f"/loans/{loan['id']}/return", headers=member.headers)
    with app.app_context():
        assert expire_ready_holds(db.session) == 0
        assert expire_ready_holds(db.session, now=utcnow() + timedelta(days=4)) == 1
    assert client.get(f"/holds/{first['id']}", headers=other_member.headers).get_json()["status"] == (
        "expired")
    assert client.get(f"/books/{book_id}").get_json()["copies_available"] == 1
    invariant(book_id)


def test_list_holds_own_and_admin(client, member, other_member, admin, make_book):
    books = [lend_out(client, admin, make_book)[0] for _ in range(3)]
    mine = [hold(client, member, b).get_json()["id"] for b in books]
    theirs = hold(client, other_member, books[0]).get_json()
    client.delete(f"/holds/{mine[1]}", headers=member.headers)

    def items(qs, who):
        response = client.get("/holds", query_string=qs, headers=who.headers)
        assert response.status_code == 200, response.get_json()
        return [(x["id"], x["position"]) for x in response.get_json()["items"]]

    assert items({}, member) == [(mine[2], 1), (mine[1], None), (mine[0], 1)]
    assert items({"status": "waiting"}, member) == [(mine[2], 1), (mine[0], 1)]
    assert items({"per_page": 1, "page": 3}, member) == [(mine[0], 1)]
    assert items({"user_id": other_member.id}, admin) == [(theirs["id"], 2)]
    assert items({"book_id": books[0]}, admin) == [(theirs["id"], 2), (mine[0], 1)]
    assert len(items({}, admin)) == 4
    assert is_problem(client.get("/holds?user_id=1", headers=member.headers), 400)
    assert is_problem(client.get("/holds?status=lost", headers=member.headers), 400)
    assert is_problem(client.get(f"/holds/{theirs['id']}", headers=member.headers), 404)
    assert client.get(f"/holds/{theirs['id']}", headers=admin.headers).status_code == 200


def test_lists_take_a_fixed_number_of_queries(app, client, admin, quick_member, make_book):
    from sqlalchemy import event

    from api.extensions import db

    def statements(path):
        seen = []

        def count(*_args):
            seen.append(1)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(path, headers=admin.headers).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    book_id, _ = lend_out(client, admin, make_book)
    hold(client, quick_member("w0"), book_id)
    few = statements("/holds"), statements("/loans")
    for i in range(1, 6):
        waiter = quick_member(f"w{i}")
        hold(client, waiter, book_id)
        client.post("/loans", json={"book_id": make_book()}, headers=waiter.headers)
    assert (statements("/holds"), statements("/loans")) == few
