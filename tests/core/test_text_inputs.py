"""Text a request sends is checked where it is read: no NUL or lone surrogate reaches
the database (a 500 on PostgreSQL), and codes are codes, without a trailing newline."""

import io

import pytest

from tests.helpers import is_problem

BAD_TEXT = ["a\ud800b", "a\x00b"]


@pytest.mark.parametrize("reason", [*BAD_TEXT, "   "])
def test_a_closed_dates_reason(client, admin, reason):
    response = client.post("/admin/calendar/closed-dates", headers=admin.headers,
                           json={"date": "2027-01-05", "reason": reason})
    assert is_problem(response, 400) and "reason" in response.get_json()["errors"]


@pytest.mark.parametrize("query", ["/admin/audit?object_type=%00", "/admin/audit?object_id=a%00",
                                   "/admin/audit?object_type=", "/admin/notifications?kind=%00"])
def test_list_filters(client, admin, query):
    assert is_problem(client.get(query, headers=admin.headers), 400)


@pytest.mark.parametrize("code", ["child\n", "Child", "", "a" * 33, "chi ld"])
def test_codes_are_codes(client, admin, member, make_book, code):
    rule = client.post("/admin/rules", headers=admin.headers,
                       json={"patron_category": code, "item_type": "dvd", "loan_days": 7})
    assert is_problem(rule, 400) and "patron_category" in rule.get_json()["errors"]
    user = client.patch(f"/users/{member.id}", headers=admin.headers, json={"category": code})
    assert is_problem(user, 400) and "category" in user.get_json()["errors"]
    item = client.post(f"/books/{make_book()}/items", headers=admin.headers,
                       json={"barcode": "B-1", "item_type": code})
    assert is_problem(item, 400) and "item_type" in item.get_json()["errors"]


def test_any_code_that_spec_allows_is_taken(client, admin, make_book):
    # SPEC's pattern, ^[a-z0-9_-]{1,32}$: an item type a rule can name, an item can have.
    rule = client.post("/admin/rules", headers=admin.headers,
                       json={"patron_category": "*", "item_type": "_x", "loan_days": 7})
    assert rule.status_code == 201, rule.get_json()
    item = client.post(f"/books/{make_book()}/items", headers=admin.headers,
                       json={"barcode": "B-2", "item_type": "_x"})
    assert item.status_code == 201 and item.get_json()["item_type"] == "_x"


def test_an_upload_name_keeps_only_printable_characters(client, admin, clean_broker):
    upload = (io.BytesIO(b"title,author,isbn,published_year\n"), "a\x00b\x07.csv")
    response = client.post("/admin/imports", headers=admin.headers, content_type="multipart/form-data",
                           data={"file": upload, "format": "csv"})
    assert response.status_code == 202, response.get_json()
    run = client.get(response.get_json()["status_url"], headers=admin.headers).get_json()
    assert run["params"]["filename"] == "ab.csv"


def test_a_task_id_with_a_nul_is_not_a_task(client, admin):
    for suffix in ("", "/messages", "/output"):
        assert is_problem(client.get(f"/admin/tasks/a%00b{suffix}", headers=admin.headers), 404)
    assert is_problem(client.post("/admin/tasks/a%00b/cancel", headers=admin.headers), 404)
