"""API1:2023 Broken Object Level Authorization.

Members reach only their own loans, holds and account. Another member's object is a
404 indistinguishable from a missing one, so ids cannot be probed for existence.
"""

import pytest

from tests.helpers import is_problem


@pytest.fixture
def bobs(client, other_member, make_book, loan_of, hold_of):
    """Bob's loan and his hold, on separate books."""
    loan = loan_of(other_member, make_book(copies=1))
    hold = hold_of(other_member, make_book(copies=0))
    return {"loan": loan, "hold": hold}


@pytest.mark.parametrize("method, path", [
    ("get", "/loans/{loan}"),
    ("post", "/loans/{loan}/return"),
    ("post", "/loans/{loan}/renew"),
    ("get", "/holds/{hold}"),
    ("delete", "/holds/{hold}"),
])
def test_another_members_object_is_404_like_a_missing_one(client, member, bobs, method, path):
    theirs = getattr(client, method)(path.format(**bobs), headers=member.headers)
    missing = getattr(client, method)(path.format(loan=999_999, hold=999_999), headers=member.headers)
    assert is_problem(theirs, 404) and is_problem(missing, 404)
    assert theirs.get_json() == missing.get_json()


def test_refused_actions_change_nothing(client, member, other_member, bobs):
    client.post(f"/loans/{bobs['loan']}/return", headers=member.headers)
    client.delete(f"/holds/{bobs['hold']}", headers=member.headers)
    loan = client.get(f"/loans/{bobs['loan']}", headers=other_member.headers).get_json()
    hold = client.get(f"/holds/{bobs['hold']}", headers=other_member.headers).get_json()
    assert loan["status"] == "active" and loan["returned_at"] is None
    assert hold["status"] == "waiting"


@pytest.mark.parametrize("path", ["/loans", "/holds"])
def test_lists_show_only_the_callers_objects(client, member, other_member, bobs, make_book, loan_of,
                                             hold_of, path):
    loan_of(member, make_book(copies=1))
    hold_of(member, make_book(copies=0))
    items = client.get(path, headers=member.headers).get_json()["items"]
    assert items and {item["user_id"] for item in items} == {member.id}


@pytest.mark.parametrize("path", ["/loans", "/holds"])
def test_members_cannot_filter_lists_by_another_user(client, member, other_member, bobs, path):
    response = client.get(f"{path}?user_id={other_member.id}", headers=member.headers)
    assert is_problem(response, 400)


def test_admins_see_every_members_objects(client, admin, bobs):
    assert client.get(f"/loans/{bobs['loan']}", headers=admin.headers).status_code == 200
    assert client.get(f"/holds/{bobs['hold']}", headers=admin.headers).status_code == 200


def test_user_records_are_reachable_only_through_me(client, member, other_member):
    assert is_problem(client.get(f"/users/{other_member.id}", headers=member.headers), 403)
    assert is_problem(client.patch(f"/users/{other_member.id}", json={"username": "taken"},
                                   headers=member.headers), 403)
    assert client.get("/users/me", headers=member.headers).get_json()["id"] == member.id
