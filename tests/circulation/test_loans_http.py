"""/loans over HTTP: status codes, ownership, admin powers, lists."""

from datetime import timedelta

from api import clock
from api.clock import utcnow
from tests.helpers import is_problem


def post_loan(client, account, **body):
    return client.post("/loans", json=body, headers=account.headers)


def test_borrow_201_with_location_and_body(client, member, make_book, invariant):
    book_id = make_book(copies=2)
    assert client.get(f"/books/{book_id}").get_json()["copies_available"] == 2  # now cached
    response = post_loan(client, member, book_id=book_id)
    assert response.status_code == 201
    body = response.get_json()
    # v2 adds item_id and barcode (SPEC "Items and the desk"); v1's fields are all there.
    assert set(body) == {"id", "user_id", "book_id", "borrowed_at", "due_at", "returned_at",
                         "renewals", "status", "item_id", "barcode"}
    assert (body["user_id"], body["book_id"], body["status"], body["returned_at"]) == (
        member.id, book_id, "active", None)
    assert response.headers["Location"].endswith(f"/loans/{body['id']}")
    assert client.get(response.headers["Location"], headers=member.headers).get_json() == body
    assert client.get(f"/books/{book_id}").get_json()["copies_available"] == 1
    invariant(book_id)


def test_borrow_conflicts(client, member, other_member, make_book):
    book_id = make_book(copies=1)
    assert post_loan(client, member, book_id=book_id).status_code == 201
    assert is_problem(post_loan(client, member, book_id=book_id), 409)
    response = post_loan(client, other_member, book_id=book_id)
    assert is_problem(response, 409) and "hold" in response.get_json()["detail"]
    assert is_problem(post_loan(client, member, book_id=999), 404)


def test_member_cannot_choose_borrower_or_due_date(client, member, other_member, make_book):
    book_id = make_book()
    for extra in ({"user_id": other_member.id}, {"due_at": "2099-01-01T00:00:00Z"},
                  {"user_id": member.id}):
        response = post_loan(client, member, book_id=book_id, **extra)
        assert is_problem(response, 400)
        assert set(response.get_json()["errors"]) == set(extra)


def test_admin_lends_to_a_member_with_a_due_date(client, admin, member, make_book):
    book_id = make_book()
    due = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    response = post_loan(client, admin, book_id=book_id, user_id=member.id, due_at=due.isoformat())
    assert response.status_code == 201
    assert response.get_json()["user_id"] == member.id
    assert response.get_json()["due_at"].startswith(due.strftime("%Y-%m-%dT%H:%M:%S"))
    assert is_problem(post_loan(client, admin, book_id=make_book(), due_at="2001-01-01T00:00:00Z"), 400)
    assert is_problem(post_loan(client, admin, book_id=make_book(), user_id=9999), 404)
    assert post_loan(client, admin, book_id=make_book()).get_json()["user_id"] == admin.id


def test_admin_patches_due_at_member_cannot(client, admin, member, make_book):
    loan = post_loan(client, member, book_id=make_book()).get_json()
    later = (utcnow() + timedelta(days=30)).isoformat()
    assert is_problem(client.patch(f"/loans/{loan['id']}", json={"due_at": later},
                                   headers=member.headers), 403)
    response = client.patch(f"/loans/{loan['id']}", json={"due_at": later}, headers=admin.headers)
    assert response.status_code == 200 and response.get_json()["due_at"][:16] == later[:16]
    for bad in ({}, {"due_at": "tomorrow"}, {"due_at": "2000-01-01T00:00:00Z"},
                {"due_at": later, "renewals": 0}):
        assert is_problem(client.patch(f"/loans/{loan['id']}", json=bad, headers=admin.headers), 400)
    assert is_problem(client.patch("/loans/9999", json={"due_at": later}, headers=admin.headers), 404)


def test_another_members_loan_is_404(client, member, other_member, admin, make_book):
    loan_id = post_loan(client, member, book_id=make_book()).get_json()["id"]
    for method, path in (("get", ""), ("post", "/return"), ("post", "/renew")):
        response = getattr(client, method)(f"/loans/{loan_id}{path}", headers=other_member.headers)
        assert is_problem(response, 404)
    assert client.get(f"/loans/{loan_id}", headers=admin.headers).status_code == 200
    assert client.post(f"/loans/{loan_id}/renew", headers=admin.headers).get_json()["renewals"] == 1
    assert client.post(f"/loans/{loan_id}/return", headers=admin.headers).status_code == 200


def test_return_renew_and_overdue(client, member, make_book, invariant, travel):
    book_id = make_book()
    loan = post_loan(client, member, book_id=book_id).get_json()
    renewed = client.post(f"/loans/{loan['id']}/renew", headers=member.headers)
    assert renewed.status_code == 200 and renewed.get_json()["due_at"] > loan["due_at"]
    travel(timedelta(days=40), member)
    assert client.get(f"/loans/{loan['id']}", headers=member.headers).get_json()["status"] == "overdue"
    assert is_problem(client.post(f"/loans/{loan['id']}/renew", headers=member.headers), 409)
    assert is_problem(post_loan(client, member, book_id=make_book()), 409)
    returned = client.post(f"/loans/{loan['id']}/return", headers=member.headers)
    assert returned.status_code == 200 and returned.get_json()["status"] == "returned"
    assert is_problem(client.post(f"/loans/{loan['id']}/return", headers=member.headers), 409)
    invariant(book_id)


def test_list_own_newest_first_admin_filters(client, member, other_member, admin, make_book, travel):
    mine = [post_loan(client, member, book_id=make_book()).get_json()["id"] for _ in range(3)]
    clock.advance(timedelta(seconds=1))
    theirs = post_loan(client, other_member, book_id=make_book()).get_json()
    client.post(f"/loans/{mine[0]}/return", headers=member.headers)

    page = client.get("/loans?per_page=2", headers=member.headers)
    assert page.status_code == 200 and 'rel="next"' in page.headers["Link"]
    assert page.get_json()["meta"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2,
                                       "total_exact": True}
    assert [x["id"] for x in page.get_json()["items"]] == [mine[2], mine[1]]

    def ids(qs, who=admin):
        response = client.get("/loans", query_string=qs, headers=who.headers)
        return [x["id"] for x in response.get_json()["items"]]

    assert ids({}) == [theirs["id"], *reversed(mine)]
    assert ids({"user_id": other_member.id}) == [theirs["id"]]
    assert ids({"status": "returned"}) == [mine[0]]
    assert ids({"status": "active", "user_id": member.id}) == [mine[2], mine[1]]
    assert ids({"book_id": theirs["book_id"]}) == [theirs["id"]]
    assert ids({"status": "returned"}, member) == [mine[0]]
    travel(timedelta(days=20), admin, member)
    assert ids({"status": "overdue"}) == [theirs["id"], mine[2], mine[1]]
    # user_id is an admin-only filter.
    assert is_problem(client.get(f"/loans?user_id={other_member.id}", headers=member.headers), 400)


def test_loans_need_a_token(client):
    assert is_problem(client.get("/loans"), 401)
    assert is_problem(client.post("/loans", json={"book_id": 1}), 401)


def test_renew_reads_its_body_as_v1_did(client, member, admin, make_book):
    # v1 read no body on renew: an empty body sent as JSON (many clients' default) and
    # fields it never knew still renew. A member's override_reason stays a 400.
    loan_id = post_loan(client, member, book_id=make_book()).get_json()["id"]
    empty = client.post(f"/loans/{loan_id}/renew", data=b"", content_type="application/json",
                        headers=member.headers)
    assert empty.status_code == 200, empty.get_json()
    extra = client.post(f"/loans/{loan_id}/renew", json={"days": 7}, headers=admin.headers)
    assert extra.status_code == 200 and extra.get_json()["renewals"] == 2
    loan_id = post_loan(client, member, book_id=make_book()).get_json()["id"]
    assert client.post(f"/loans/{loan_id}/renew", json={"days": 7}, headers=member.headers).status_code == 200
    # Nor did v1 look at a body that is not a JSON object.
    assert is_problem(client.post(f"/loans/{loan_id}/renew", data=b"{", content_type="application/json",
                                  headers=member.headers), 400)  # maybe the object meant: not guessed
    client.post(f"/loans/{loan_id}/return", headers=member.headers)
    for data, content_type in ((b"null", "application/json"),
                               (b"[1]", "application/json"), (b"a=b", "application/x-www-form-urlencoded"),
                               (b"x", "text/plain")):
        loan_id = post_loan(client, member, book_id=make_book()).get_json()["id"]
        response = client.post(f"/loans/{loan_id}/renew", data=data, content_type=content_type,
                               headers=member.headers)
        assert response.status_code == 200 and response.get_json()["renewals"] == 1, (data, content_type)
        client.post(f"/loans/{loan_id}/return", headers=member.headers)  # under the loan limit
    loan_id = post_loan(client, member, book_id=make_book()).get_json()["id"]
    refused = client.post(f"/loans/{loan_id}/renew", json={"override_reason": "x"}, headers=member.headers)
    assert is_problem(refused, 400)
