"""Lists read by keyset cursor (`?after=`): GET /books here, GET /loans in circulation."""

import base64
import json
import re
from urllib.parse import quote

import pytest

from tests.helpers import is_problem

SORTS = ["title", "-title", "author", "published_year", "-published_year", "created_at", "-created_at"]


def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def walk(client, query: str, per_page: int = 2, headers=None) -> list[list[int]]:
    """Every page of `query` by cursor, from `after=` until next_cursor is null."""
    pages, cursor = [], ""
    while cursor is not None:
        response = client.get(f"{query}&after={cursor}&per_page={per_page}", headers=headers)
        pages.append(ids(response))
        meta = response.get_json()["meta"]
        assert meta["page"] is None and meta["per_page"] == per_page
        cursor = meta["next_cursor"]
        assert len(pages) < 50, "the cursor walk does not end"
    return pages


def forge(**payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.fixture
def shelf(make_book):
    # Ties in every sort key, so the id tie-break decides within each.
    for title, author, year in [("Emma", "Austen", 1815), ("Dune", "Herbert", 1965),
                                ("Emma", "Austen", 1815), ("Araby", "Joyce", 1914),
                                ("Dune", "Herbert", 1965), ("Zama", "Di Benedetto", 1956),
                                ("Emma", "Zed", 2001)]:
        make_book(title=title, author=author, published_year=year)


@pytest.mark.parametrize("sort", SORTS)
def test_a_cursor_walk_gives_every_book_once_in_the_order_of_one_long_page(client, shelf, sort):
    pages = walk(client, f"/books?sort={sort}")
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    assert sum(pages, []) == ids(client.get(f"/books?sort={sort}&per_page=100"))


def test_filters_and_a_search_sorted_by_title_page_by_cursor(client, shelf):
    assert sum(walk(client, "/books?author=austen"), []) == ids(client.get("/books?author=austen"))
    by_title = ids(client.get("/books?q=emma&sort=title"))
    assert len(by_title) == 3 and sum(walk(client, "/books?q=emma&sort=title"), []) == by_title


def test_the_next_page_stays_put_when_rows_are_added_before_it(client, shelf, make_book):
    first = client.get("/books?sort=title&after=&per_page=3").get_json()
    make_book(title="Aaa")  # sorts first: a page number would now shift by one
    after = ids(client.get(f"/books?sort=title&after={first['meta']['next_cursor']}&per_page=3"))
    everything = ids(client.get("/books?sort=title&per_page=100"))
    last_seen = everything.index(first["items"][-1]["id"])
    assert after == everything[last_seen + 1:last_seen + 4]


def test_meta_and_links_of_a_cursor_page(client, shelf):
    response = client.get("/books?author=austen&sort=title&after=&per_page=1")
    meta = response.get_json()["meta"]
    assert meta == {"page": None, "per_page": 1, "total": 2, "pages": 2, "total_exact": True,
                    "fuzzy": False, "next_cursor": meta["next_cursor"]}
    base = "http://localhost/books?author=austen&sort=title&"
    assert response.headers["Link"] == (f'<{base}after=&per_page=1>; rel="first", '
                                        f'<{base}after={meta["next_cursor"]}&per_page=1>; rel="next"')
    following = client.get(re.search(r'<([^>]+)>; rel="next"', response.headers["Link"])[1])
    assert following.get_json()["meta"]["next_cursor"] is None
    assert 'rel="next"' not in following.headers["Link"]


def test_long_titles_in_any_script_give_cursors_the_list_takes(client, make_book):
    for title in ["é" * 300, "é" * 300, "😀" * 300, "😀" * 300, "书" * 300]:
        make_book(title=title)
    for sort in ("title", "-title"):
        assert sum(walk(client, f"/books?sort={sort}", per_page=1), []) == ids(
            client.get(f"/books?sort={sort}&per_page=100"))


def test_a_cursor_is_good_only_for_the_list_that_gave_it(client, admin, member):
    # Users and rules are both ordered by id alone: only the list named in the cursor tells them apart.
    users = client.get("/users?after=&per_page=1", headers=admin.headers).get_json()["meta"]["next_cursor"]
    assert client.get(f"/users?after={users}", headers=admin.headers).status_code == 200
    response = client.get(f"/admin/rules?after={users}", headers=admin.headers)
    assert is_problem(response, 400) and "another list" in response.get_json()["detail"]


def test_a_page_read_by_number_is_as_v1_had_it(client, shelf):
    body = client.get("/books?per_page=2").get_json()
    assert "next_cursor" not in body["meta"] and body["meta"]["page"] == 1


def test_close_spellings_continue_by_cursor(client, shelf):
    first = client.get("/books?q=emmma&sort=title&after=&per_page=2").get_json()
    assert first["meta"]["fuzzy"] is True and first["meta"]["next_cursor"]
    rest = client.get(f"/books?q=emmma&sort=title&after={first['meta']['next_cursor']}&per_page=2").get_json()
    assert rest["meta"]["fuzzy"] is True and len(rest["items"]) == 1
    assert {b["title"] for b in first["items"] + rest["items"]} == {"Emma"}


def test_a_search_by_relevance_has_no_cursor(client, shelf):
    response = client.get("/books?q=emma&after=")
    assert is_problem(response, 400) and "after" in response.get_json()["errors"]


def test_a_cursor_of_another_sort_is_400(client, shelf):
    cursor = client.get("/books?sort=title&after=&per_page=2").get_json()["meta"]["next_cursor"]
    assert ids(client.get(f"/books?sort=title&after={cursor}"))  # its own order: fine
    response = client.get(f"/books?sort=-title&after={cursor}")
    assert is_problem(response, 400) and "another list or order" in response.get_json()["detail"]


TITLE, CREATED = "books.list_books:title,id", "books.list_books:created_at,id"


@pytest.mark.parametrize(("sort", "cursor"), [
    ("title", "x"), ("title", "%%%"), ("title", "bm90IGpzb24"), ("title", "a" * 2049),
    ("title", forge(o=TITLE, s=0)), ("title", forge(o=TITLE, s=9, v=["Emma", 1])),
    ("title", forge(o=TITLE, s=0, v=["Emma"])), ("title", forge(o=TITLE, s=0, v=["Emma", "1"])),
    ("title", forge(o=TITLE, s=0, v=["Em\u0000ma", 1])), ("title", forge(o=TITLE, s=0, v=["Emma", 2**40])),
    ("title", forge(o=TITLE, s=0, v=[["Emma"], 1])), ("title", forge(o=TITLE, s=-1, v=["Emma", 1])),
    ("title", forge(o=TITLE, s=True, v=["Emma", 1])), ("title", forge(o=[TITLE], s=0, v=["Emma", 1])),
    ("title", forge(o="title,id", s=0, v=["Emma", 1])),  # no list named
    ("created_at", forge(o=CREATED, s=0, v=["2026-01-01T00:00:00", 1])),  # no time zone
    ("created_at", forge(o=CREATED, s=0, v=["yesterday", 1])),
    ("created_at", forge(o=CREATED, s=0, v=["0001-01-01T00:00:00+01:00", 1])),  # year 0 in UTC
    ("created_at", forge(o=CREATED, s=0, v=["9999-12-31T23:59:59-01:00", 1])),  # year 10000 in UTC
    # A lone surrogate:
    ("title", base64.urlsafe_b64encode(f'{{"o":"{TITLE}","s":0,"v":["\\ud800",1]}}'.encode()).decode()),
])
def test_a_cursor_that_is_not_one_is_400_never_500(client, shelf, sort, cursor):
    response = client.get(f"/books?sort={sort}&after={quote(cursor)}")
    assert is_problem(response, 400) and "after" in response.get_json()["errors"], response.get_json()


def test_page_and_after_together_are_400(client, shelf):
    assert is_problem(client.get("/books?page=2&after="), 400)
