"""GET /books: search, filters, sort and pagination."""

import pytest

from tests.helpers import is_problem


def titles(response):
    assert response.status_code == 200, response.get_json()
    return [b["title"] for b in response.get_json()["items"]]


@pytest.fixture
def shelf(make_book):
    make_book(title="Dune", author="Frank Herbert", published_year=1965, isbn="9780306406157")
    make_book(title="Emma", author="Jane Austen", published_year=1815, copies=0)
    make_book(title="Persuasion", author="Jane Austen", published_year=1817)
    make_book(title="100% Pure_Luck", author="Anon", published_year=2001)


def test_q_matches_title_author_and_isbn(client, shelf):
    assert titles(client.get("/books?q=DUNE")) == ["Dune"]
    assert titles(client.get("/books?q=austen")) == ["Emma", "Persuasion"]
    assert titles(client.get("/books?q=0-306-40615-2")) == ["Dune"]  # ISBN-10 of it
    assert titles(client.get("/books?q=978-0306406157")) == ["Dune"]
    assert titles(client.get("/books?q=40615")) == ["Dune"]


def test_like_wildcards_are_literal(client, shelf):
    assert titles(client.get("/books?q=%25")) == ["100% Pure_Luck"]
    assert titles(client.get("/books?q=e_L")) == ["100% Pure_Luck"]


def test_author_and_available_filters(client, shelf):
    assert titles(client.get("/books?author=jane")) == ["Emma", "Persuasion"]
    assert titles(client.get("/books?author=jane&available=true")) == ["Persuasion"]
    assert titles(client.get("/books?available=false")) == ["Emma"]
    assert is_problem(client.get("/books?available=maybe"), 400)


def test_letter_case_is_ignored_in_every_script(client, make_book):
    # PostgreSQL's ILIKE folds any letter; SQLite's LIKE only ASCII ones, unless told.
    make_book(title="Les Misérables", author="VICTOR HUGO, ÉMILE ZOLA", published_year=1862)
    make_book(title="Преступление и наказание", author="Фёдор Достоевский", published_year=1866)
    for author in ("émile", "Émile", "ÉMILE", "фёдор", "ФЁДОР"):
        assert len(titles(client.get("/books", query_string={"author": author}))) == 1, author
    assert titles(client.get("/books", query_string={"q": "MISÉRABLES, "})) == ["Les Misérables"]


def test_sort_orders_with_id_tiebreak(client, make_book):
    ids = [make_book(title="Same", published_year=2000) for _ in range(3)]
    assert [b["id"] for b in client.get("/books?sort=title").get_json()["items"]] == ids
    assert [b["id"] for b in client.get("/books?sort=-title").get_json()["items"]] == ids[::-1]
    assert [b["id"] for b in client.get("/books?sort=-created_at").get_json()["items"]] == ids[::-1]


def test_sort_by_year(client, shelf):
    assert titles(client.get("/books?sort=published_year"))[0] == "Emma"
    assert titles(client.get("/books?sort=-published_year"))[0] == "100% Pure_Luck"
    assert is_problem(client.get("/books?sort=isbn"), 400)


def test_pagination_meta_and_link_header(client, make_book):
    for _ in range(5):
        make_book()
    response = client.get("/books?per_page=2&page=2&q=book")
    body = response.get_json()
    assert body["meta"] == {"page": 2, "per_page": 2, "total": 5, "pages": 3, "total_exact": True,
                            "fuzzy": False}
    assert len(body["items"]) == 2
    link = response.headers["Link"]
    for rel in ("first", "prev", "next", "last"):
        assert f'rel="{rel}"' in link
    assert "q=book" in link


def test_per_page_is_capped(client, make_book):
    make_book()
    assert client.get("/books?per_page=1000").get_json()["meta"]["per_page"] == 100


@pytest.mark.parametrize("query", ["page=0", "page=-1", "page=abc", "page=10000000000000",
                                   "per_page=0", "per_page=x", "page=1&page=2", "q=" + "x" * 201,
                                   "unknown=1", "q=%00"])
def test_bad_query_values_are_400(client, query):
    assert is_problem(client.get(f"/books?{query}"), 400)


def test_page_past_the_end_is_empty(client, make_book):
    make_book()
    body = client.get("/books?page=50").get_json()
    assert body["items"] == [] and body["meta"]["total"] == 1


def test_odd_unicode_never_500(client, shelf):
    for q in ["\u202e", "ß", "😀", "\ufeff", "ｄｕｎｅ"]:
        assert client.get("/books", query_string={"q": q}).status_code == 200


def test_link_urls_keep_the_filters_encoded_then_page_and_size(client, make_book):
    for _ in range(5):
        make_book(title="Deep & wide")
    link = client.get("/books?per_page=2&page=2&q=deep%20%26%20wide").headers["Link"]
    url = "http://localhost/books?q=deep+%26+wide&page={}&per_page=2"
    assert link == ", ".join(f'<{url.format(n)}>; rel="{rel}"'
                             for rel, n in (("first", 1), ("last", 3), ("prev", 1), ("next", 3)))
    first = client.get("/books?per_page=2").headers["Link"]
    assert first.startswith('<http://localhost/books?page=1&per_page=2>; rel="first"')
