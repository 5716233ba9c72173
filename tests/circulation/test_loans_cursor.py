"""GET /loans read by keyset cursor (`?after=`; GET /books in tests/books/test_cursor.py)."""

from datetime import timedelta

from tests.books.test_cursor import walk
from tests.helpers import is_problem


def borrow(client, account, book_id) -> int:
    response = client.post("/loans", json={"book_id": book_id}, headers=account.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_loans_by_cursor_newest_first_within_what_the_caller_may_see(
        client, member, other_member, admin, make_book, travel):
    mine = [borrow(client, member, make_book()) for _ in range(3)]  # one borrowed_at: ties by id
    travel(timedelta(hours=1), member, other_member, admin)
    theirs = [borrow(client, other_member, make_book()) for _ in range(2)]
    everyone = [*reversed(theirs), *reversed(mine)]

    assert walk(client, "/loans?", headers=admin.headers) == [everyone[:2], everyone[2:4], everyone[4:]]
    assert sum(walk(client, "/loans?", headers=member.headers), []) == mine[::-1]
    # An admin's cursor gives a member nothing of others': the member's scope still applies.
    cursor = client.get("/loans?after=&per_page=1", headers=admin.headers).get_json()["meta"]["next_cursor"]
    rest = client.get(f"/loans?after={cursor}&per_page=10", headers=member.headers).get_json()["items"]
    assert [loan["id"] for loan in rest] == mine[::-1]


def test_open_loans_by_status_page_by_cursor(client, member, admin, make_book, travel):
    loans = [borrow(client, member, make_book()) for _ in range(3)]
    client.post(f"/loans/{loans[1]}/return", headers=member.headers)
    travel(timedelta(days=40), member, admin)
    assert sum(walk(client, "/loans?status=overdue", per_page=1, headers=admin.headers), []) == [
        loans[2], loans[0]]
    assert walk(client, "/loans?status=returned", headers=admin.headers) == [[loans[1]]]


def test_a_loans_cursor_is_not_a_books_cursor(client, member, admin, make_book):
    borrow(client, member, make_book())
    borrow(client, member, make_book())
    cursor = client.get("/loans?after=&per_page=1", headers=admin.headers).get_json()["meta"]["next_cursor"]
    assert is_problem(client.get(f"/books?after={cursor}"), 400)
