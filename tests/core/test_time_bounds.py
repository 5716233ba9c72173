"""Times and days near the ends of Python's calendar are a 400, never a 500: they
overflowed when converted to UTC, given a renewal's days or moved to the next open day
(api.fields.Time and Day: the years 1900-2999)."""

import pytest

from api.clock import utcnow
from tests.helpers import is_problem

FAR = ["9999-12-31T23:00:00-05:00", "9999-12-30T00:00:00Z", "0001-01-01T00:00:00+05:00",
       "3000-01-01T00:00:00Z", "1899-12-31T23:59:59Z"]
FAR_DAYS = ["9999-12-31", "9999-12-20", "0001-01-01", "3000-01-01"]


@pytest.fixture
def loan(client, admin, member, make_book):
    body = {"book_id": make_book(), "user_id": member.id}
    return client.post("/loans", json=body, headers=admin.headers).get_json()


@pytest.mark.parametrize("value", FAR)
def test_far_times_are_400(client, admin, member, make_book, loan, value):
    book = make_book()
    for field in ("due_at", "borrowed_at"):
        body = {"book_id": book, "user_id": member.id, field: value}
        response = client.post("/loans", json=body, headers=admin.headers)
        assert is_problem(response, 400) and field in response.get_json()["errors"]
    moved = client.patch(f"/loans/{loan['id']}", json={"due_at": value}, headers=admin.headers)
    assert is_problem(moved, 400)
    block = client.post(f"/users/{member.id}/blocks", json={"reason": "x", "expires_at": value},
                        headers=admin.headers)
    assert is_problem(block, 400) and "expires_at" in block.get_json()["errors"]
    # The loan was left as it was, so a renewal still works.
    assert client.post(f"/loans/{loan['id']}/renew", headers=member.headers).status_code == 200


@pytest.mark.parametrize("day", FAR_DAYS)
def test_far_days_are_400(client, admin, day):
    assert is_problem(client.get(f"/calendar?from={day}"), 400)
    assert is_problem(client.get(f"/calendar?to={day}"), 400)
    closed = client.post("/admin/calendar/closed-dates", json={"date": day, "reason": "x"},
                         headers=admin.headers)
    assert is_problem(closed, 400)


def test_the_last_year_allowed_works(client, admin, member, loan):
    late = "2999-12-30T12:00:00+00:00"
    moved = client.patch(f"/loans/{loan['id']}", json={"due_at": late}, headers=admin.headers)
    assert moved.status_code == 200
    assert client.post(f"/loans/{loan['id']}/renew", headers=member.headers).status_code == 200
    assert client.get("/calendar?from=2999-12-01").status_code == 200
    naive = client.patch(f"/loans/{loan['id']}", json={"due_at": utcnow().replace(tzinfo=None).isoformat()},
                         headers=admin.headers)
    assert naive.status_code == 200  # naive times are still read as UTC
