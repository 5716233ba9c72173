"""Every borrow, return, hold and expiry that changes copies_available is visible on
the very next cached catalog read (through the real circulation API)."""

from datetime import timedelta

from api import clock
from api.circulation.holds import expire_ready_holds
from api.extensions import db


def available(client, book_id):
    one = client.get(f"/books/{book_id}").get_json()["copies_available"]
    listed = client.get("/books?available=true").get_json()["meta"]["total"]
    return one, listed


def test_circulation_changes_are_visible_on_the_next_read(app, client, make_book, member,
                                                          other_member):
    book_id = make_book(copies=1)
    assert available(client, book_id) == (1, 1)
    loan = client.post("/loans", json={"book_id": book_id}, headers=member.headers)
    assert loan.status_code == 201, loan.get_json()
    assert available(client, book_id) == (0, 0)

    hold = client.post("/holds", json={"book_id": book_id}, headers=other_member.headers)
    assert hold.status_code == 201, hold.get_json()
    returned = client.post(f"/loans/{loan.get_json()['id']}/return", headers=member.headers)
    assert returned.status_code == 200
    assert available(client, book_id) == (0, 0)  # the copy is kept for the hold

    clock.advance(timedelta(days=app.config["HOLD_PICKUP_DAYS"] + 1))
    with app.app_context():
        assert expire_ready_holds(db.session) == 1
    assert available(client, book_id) == (1, 1)  # nobody else waits: back on the shelf
