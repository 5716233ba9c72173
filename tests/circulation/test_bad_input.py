"""Bad input to /loans and /holds is a 4xx problem+json, never a 500."""

import pytest

from tests.helpers import is_problem

BAD_BODIES = [
    {"book_id": "1"}, {"book_id": -1}, {"book_id": 0}, {"book_id": 10**30}, {"book_id": 1.5},
    {"book_id": None}, {"book_id": True}, {"book_id": [1]}, {}, {"book_id": 1, "extra": 1},
    {"book_id": 1, "status": "returned"},
]


@pytest.mark.parametrize("path", ["/loans", "/holds"])
@pytest.mark.parametrize("body", BAD_BODIES, ids=repr)
def test_bad_bodies_are_400(client, member, path, body):
    assert is_problem(client.post(path, json=body, headers=member.headers), 400)


@pytest.mark.parametrize("path", ["/loans", "/holds"])
def test_not_json(client, member, path):
    assert is_problem(client.post(path, data="book_id=1", headers=member.headers), 415)
    assert is_problem(client.post(path, data="{nope", content_type="application/json",
                                  headers=member.headers), 400)
    assert is_problem(client.post(path, json=[1], headers=member.headers), 400)
    assert is_problem(client.post(path, data='"\\ud800"', content_type="application/json",
                                  headers=member.headers), 400)


def test_admin_bad_fields(client, admin, make_book):
    book_id = make_book()
    for extra in ({"user_id": "2"}, {"user_id": 10**30}, {"due_at": "soon"},
                  {"due_at": "99999-01-01T00:00:00"}, {"due_at": 12}):
        response = client.post("/loans", json={"book_id": book_id, **extra}, headers=admin.headers)
        assert is_problem(response, 400), (extra, response.get_json())


@pytest.mark.parametrize("suffix", ["abc", "-1", str(10**30), "0", "1.5", str(2**31)])
def test_bad_ids_in_paths(client, admin, suffix):
    for method, path in (("get", "/loans/{}"), ("post", "/loans/{}/return"),
                         ("post", "/loans/{}/renew"), ("get", "/holds/{}"), ("delete", "/holds/{}")):
        response = getattr(client, method)(path.format(suffix), headers=admin.headers)
        assert is_problem(response, 404), (method, path, suffix)
    response = client.patch(f"/loans/{suffix}", json={"due_at": "2099-01-01T00:00:00Z"},
                            headers=admin.headers)
    assert is_problem(response, 404)


@pytest.mark.parametrize("qs", ["page=0", "page=x", "per_page=-1", "status=lost", "book_id=x",
                                "book_id=-3", f"book_id={10**30}", "user_id=abc", "nope=1",
                                "status=active&status=returned"])
@pytest.mark.parametrize("path", ["/loans", "/holds"])
def test_bad_queries_are_400(client, admin, path, qs):
    assert is_problem(client.get(f"{path}?{qs}", headers=admin.headers), 400)


def test_large_page_is_fine(client, member):
    response = client.get("/loans?page=1000000&per_page=1000", headers=member.headers)
    assert response.status_code == 200
    assert response.get_json()["meta"]["per_page"] == 100
