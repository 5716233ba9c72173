"""SPEC "Circulation rules": `max_loans` of (C,*) limits all of a member's open loans; one
set on a row naming a type T also limits their open loans of type T. A typed row adds a
limit; it never replaces the overall one."""

import pytest

from tests.helpers import is_problem


@pytest.fixture
def dvd_rule(client, admin):
    def make(max_loans: int) -> None:
        response = client.post("/admin/rules", headers=admin.headers,
                               json={"patron_category": "*", "item_type": "dvd", "max_loans": max_loans})
        assert response.status_code == 201, response.get_json()

    return make


def borrow(client, member, book_id):
    return client.post("/loans", json={"book_id": book_id}, headers=member.headers)


def test_a_higher_limit_for_a_type_does_not_lift_the_overall_limit(app, client, member, make_book, dvd_rule):
    dvd_rule(max_loans=app.config["MAX_ACTIVE_LOANS"] + 5)
    for _ in range(app.config["MAX_ACTIVE_LOANS"]):
        assert borrow(client, member, make_book()).status_code == 201
    refused = borrow(client, member, make_book(item_type="dvd"))
    assert is_problem(refused, 409) and refused.get_json()["code"] == "loan_limit"
    check = client.get(f"/loans/check?book_id={make_book(item_type='dvd')}", headers=member.headers)
    assert [b["code"] for b in check.get_json()["blockers"]] == ["loan_limit"]


def test_a_lower_limit_for_a_type_counts_only_that_type(client, member, make_book, dvd_rule):
    dvd_rule(max_loans=1)
    for _ in range(2):
        assert borrow(client, member, make_book()).status_code == 201
    assert borrow(client, member, make_book(item_type="dvd")).status_code == 201
    refused = borrow(client, member, make_book(item_type="dvd"))
    assert is_problem(refused, 409) and refused.get_json()["code"] == "loan_limit"
    assert "type dvd" in refused.get_json()["detail"]
    assert borrow(client, member, make_book()).status_code == 201  # books: only the overall limit
