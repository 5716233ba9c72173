"""Catalog writes: admin-only CRUD, ISBN rules, copies and bad input."""

from datetime import timedelta

import pytest

from api.clock import utcnow
from api.extensions import db
from api.models import Loan
from tests.helpers import create_user, is_problem

ISBN13 = "978-0-306-40615-7"
ISBN10 = "0-306-40615-2"  # the same book


def payload(**overrides):
    body = {"title": "  Dune  ", "author": "Frank Herbert", "isbn": ISBN13,
            "published_year": 1965, "description": "Spice.", "copies": 3}
    body.update(overrides)
    return body


def test_create_returns_201_location_and_normalised_book(client, admin):
    response = client.post("/books", json=payload(isbn=ISBN10), headers=admin.headers)
    assert response.status_code == 201, response.get_json()
    book = response.get_json()
    assert book["title"] == "Dune"
    assert book["isbn"] == "9780306406157"
    assert book["copies_total"] == book["copies_available"] == 3
    assert response.headers["Location"].endswith(f"/books/{book['id']}")
    fetched = client.get(response.headers["Location"])
    assert fetched.status_code == 200 and fetched.get_json()["title"] == "Dune"


@pytest.mark.parametrize("first,second", [(ISBN13, ISBN10), (ISBN10, "9780306406157")])
def test_isbn10_and_isbn13_of_one_book_are_duplicates(client, admin, first, second):
    assert client.post("/books", json=payload(isbn=first), headers=admin.headers).status_code == 201
    response = client.post("/books", json=payload(isbn=second), headers=admin.headers)
    assert is_problem(response, 409)


@pytest.mark.parametrize("isbn", ["978-0-306-40615-8", "0-306-40615-3", "12345", "abcdefghij",
                                  "977-0-306-40615-7", "", "   ", 9780306406157])
def test_invalid_isbn_is_400(client, admin, isbn):
    response = client.post("/books", json=payload(isbn=isbn), headers=admin.headers)
    assert is_problem(response, 400) and "isbn" in response.get_json()["errors"]


def test_isbn10_with_x_check_digit(client, admin):
    response = client.post("/books", json=payload(isbn="0-8044-2957-X"), headers=admin.headers)
    assert response.status_code == 201
    assert response.get_json()["isbn"] == "9780804429573"


@pytest.mark.parametrize("field,value", [
    ("title", "   "), ("title", "x" * 301), ("title", None), ("title", 5), ("author", ""),
    ("published_year", 999), ("published_year", 3000), ("published_year", "1965"),
    ("published_year", True), ("copies", -1), ("copies", 10_001), ("copies", 1.5),
    ("description", "x" * 5001), ("title", "nul\x00byte"), ("title", "lone \ud800 surrogate"),
])
def test_bad_fields_are_400(client, admin, field, value):
    response = client.post("/books", json=payload(**{field: value}), headers=admin.headers)
    assert is_problem(response, 400), response.get_json()
    assert field in response.get_json()["errors"]


def test_unknown_and_missing_fields_are_400(client, admin):
    assert is_problem(client.post("/books", json=payload(extra=1), headers=admin.headers), 400)
    body = payload()
    del body["copies"]
    assert is_problem(client.post("/books", json=body, headers=admin.headers), 400)


@pytest.mark.parametrize("data,content_type,status", [
    ("{not json", "application/json", 400), ("[1, 2]", "application/json", 400),
    ("title=x", "application/x-www-form-urlencoded", 415), ("x" * 70_000, "application/json", 413),
])
def test_malformed_bodies(client, admin, data, content_type, status):
    response = client.post("/books", data=data, content_type=content_type, headers=admin.headers)
    assert is_problem(response, status)


def test_writes_need_an_admin(client, member, make_book):
    book_id = make_book()
    for method, url, body in [("post", "/books", payload()), ("patch", f"/books/{book_id}", {"copies": 2}),
                              ("delete", f"/books/{book_id}", None)]:
        assert is_problem(getattr(client, method)(url, json=body), 401)
        assert is_problem(getattr(client, method)(url, json=body, headers=member.headers), 403)


def test_missing_book_is_404(client, admin):
    for id_ in (999, 2**40):
        assert is_problem(client.get(f"/books/{id_}"), 404)
        assert is_problem(client.patch(f"/books/{id_}", json={"copies": 1}, headers=admin.headers), 404)
        assert is_problem(client.delete(f"/books/{id_}", headers=admin.headers), 404)


def test_patch_is_partial_and_copies_move_both_counts(client, admin, make_book, app):
    book_id = make_book(copies=3, copies_available=1)  # two copies (items) out
    response = client.patch(f"/books/{book_id}", json={"copies": 5, "title": " New "},
                            headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    book = response.get_json()
    assert (book["title"], book["copies_total"], book["copies_available"]) == ("New", 5, 3)
    response = client.patch(f"/books/{book_id}", json={"copies": 2}, headers=admin.headers)
    assert response.get_json()["copies_available"] == 0
    assert is_problem(client.patch(f"/books/{book_id}", json={"copies": 1}, headers=admin.headers), 409)


def test_patch_validation(client, admin, make_book):
    book_id = make_book()
    other = make_book()
    assert is_problem(client.patch(f"/books/{book_id}", json={}, headers=admin.headers), 400)
    assert is_problem(client.patch(f"/books/{book_id}", json={"copies": -1}, headers=admin.headers), 400)
    with_other_isbn = client.get(f"/books/{other}").get_json()["isbn"]
    response = client.patch(f"/books/{book_id}", json={"isbn": with_other_isbn}, headers=admin.headers)
    assert is_problem(response, 409)
    assert client.patch(f"/books/{book_id}", json={"description": None},
                        headers=admin.headers).status_code == 200


def test_delete_refused_while_on_loan(client, admin, make_book, app):
    book_id = make_book(copies=2)
    borrower = create_user(app, "carol")
    with app.app_context():
        loan = Loan(user_id=borrower.id, book_id=book_id, due_at=utcnow() + timedelta(days=14))
        db.session.add(loan)
        db.session.commit()
        loan_id = loan.id
    assert is_problem(client.delete(f"/books/{book_id}", headers=admin.headers), 409)
    with app.app_context():
        db.session.get(Loan, loan_id).returned_at = utcnow()
        db.session.commit()
    assert client.delete(f"/books/{book_id}", headers=admin.headers).status_code == 204
    assert is_problem(client.get(f"/books/{book_id}"), 404)
