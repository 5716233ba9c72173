"""Catalog reads from Redis: keys, invalidation on every write, ETag and 304."""

from sqlalchemy import update

from api.caching import JSONSerializer, mark_catalog_changed
from api.extensions import db
from api.models import Book
from tests.helpers import is_problem


def test_a_hit_runs_no_sql(client, make_book, count_sql):
    book_id = make_book()
    for url in ("/books?q=book&sort=-title", f"/books/{book_id}"):
        first = client.get(url)
        statements = count_sql()
        second = client.get(url)
        assert second.status_code == 200
        assert second.get_data() == first.get_data()
        assert statements == []


def test_query_order_shares_an_entry_but_other_queries_do_not(client, make_book, count_sql):
    make_book(title="Alpha")
    make_book(title="Beta")
    client.get("/books?q=a&sort=title")
    statements = count_sql()
    assert client.get("/books?sort=title&q=a").status_code == 200
    assert statements == []
    one = client.get("/books?per_page=1").get_json()
    two = client.get("/books?per_page=2").get_json()
    assert len(one["items"]) == 1 and len(two["items"]) == 2
    assert client.get("/books?sort=-title").get_json()["items"][0]["title"] == "Beta"
    assert client.get("/books?sort=title").get_json()["items"][0]["title"] == "Alpha"


def test_each_host_and_each_long_query_gets_its_own_entry(client, make_book, count_sql):
    # Keys are remembered per (route, host, query string); Link URLs are absolute.
    for n in range(3):
        make_book(title=f"Book {n}")
    for host in ("a.example", "b.example"):
        links = client.get("/books?per_page=1", base_url=f"http://{host}").headers["Link"]
        assert f"http://{host}/books?" in links and links.count("example") == links.count(host)
    # Longer than the keys remembered per process: still one entry, found again.
    long_q = "author=" + "x" * 150 + "&q=" + "y" * 150
    first = client.get(f"/books?{long_q}&sort=title")
    assert first.status_code == 200
    statements = count_sql()
    assert client.get(f"/books?sort=title&{long_q}").get_data() == first.get_data()
    assert statements == []


def test_invalid_queries_are_never_cached(client, redis_client):
    assert client.get("/books?page=0").status_code == 400
    assert client.get("/books/999").status_code == 404
    assert redis_client.keys("cache:*") == []


def test_a_cached_query_does_not_answer_an_invalid_neighbour(client, make_book):
    # The list is looked up before its query string is validated: a cached valid query
    # must not answer one that differs by a repeated, empty or extra parameter.
    make_book(title="Alpha")
    assert client.get("/books?q=alpha&per_page=5").status_code == 200
    for url in ("/books?q=alpha&per_page=5&q=alpha", "/books?q=alpha&per_page=5&per_page=5",
                "/books?q=alpha&per_page=5&sort=nope", "/books?q=alpha&per_page=5&page=0"):
        assert client.get(url).status_code == 400, url
    assert client.get("/books?per_page=5&q=alpha").status_code == 200


def test_etag_and_304(client, make_book, admin):
    book_id = make_book()
    first = client.get(f"/books/{book_id}")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, no-cache"
    again = client.get(f"/books/{book_id}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag
    client.patch(f"/books/{book_id}", json={"title": "Renamed"}, headers=admin.headers)
    changed = client.get(f"/books/{book_id}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["title"] == "Renamed"
    listing = client.get("/books")
    assert client.get("/books", headers={"If-None-Match": listing.headers["ETag"]}).status_code == 304


def test_a_failed_precondition_is_a_problem_not_the_page(client, make_book):
    book_id = make_book()
    etag = client.get(f"/books/{book_id}").headers["ETag"]
    for url in (f"/books/{book_id}", "/books?available=true"):
        for _ in range(2):  # built, then from the cache
            failed = client.get(url, headers={"If-Match": '"other"'})
            assert is_problem(failed, 412) and "isbn" not in failed.get_data(as_text=True)
            assert failed.headers["ETag"]
    assert client.get(f"/books/{book_id}", headers={"If-Match": etag}).status_code == 200


def test_every_catalog_write_is_visible_on_the_next_read(client, admin, make_book):
    assert client.get("/books").get_json()["meta"]["total"] == 0
    created = client.post("/books", headers=admin.headers, json={
        "title": "Dune", "author": "Frank Herbert", "isbn": "9780306406157",
        "published_year": 1965, "copies": 2}).get_json()
    url = f"/books/{created['id']}"
    assert client.get("/books").get_json()["meta"]["total"] == 1
    assert client.get(url).get_json()["copies_total"] == 2
    client.patch(url, json={"copies": 4}, headers=admin.headers)
    assert client.get(url).get_json()["copies_available"] == 4
    assert client.get("/books?available=false").get_json()["meta"]["total"] == 0
    client.delete(url, headers=admin.headers)
    assert client.get(url).status_code == 404
    assert client.get("/books").get_json()["meta"]["total"] == 0


def _shelf_change(app, book_id: int, delta: int) -> None:
    """What a borrow (-1) or return (+1) does to the catalog, as api.circulation does it."""
    with app.app_context():
        db.session.execute(update(Book).where(Book.id == book_id, Book.copies_available + delta >= 0)
                           .values(copies_available=Book.copies_available + delta))
        mark_catalog_changed(db.session)
        db.session.commit()


def test_loans_and_returns_are_visible_on_the_next_read(app, client, make_book):
    book_id = make_book(copies=1)
    assert client.get(f"/books/{book_id}").get_json()["copies_available"] == 1
    assert client.get("/books?available=true").get_json()["meta"]["total"] == 1
    _shelf_change(app, book_id, -1)
    assert client.get(f"/books/{book_id}").get_json()["copies_available"] == 0
    assert client.get("/books?available=true").get_json()["meta"]["total"] == 0
    _shelf_change(app, book_id, +1)
    assert client.get(f"/books/{book_id}").get_json()["copies_available"] == 1


def test_rollback_does_not_bump_the_version(app, redis_client, make_book):
    book_id = make_book()
    before = redis_client.get("catalog:version")
    with app.app_context():
        db.session.get(Book, book_id).title = "Never"
        mark_catalog_changed(db.session)
        db.session.rollback()
        db.session.commit()
    assert redis_client.get("catalog:version") == before


def test_rate_limit_headers_are_per_client_even_on_a_hit(client, make_book, member):
    make_book()
    first = client.get("/books")
    second = client.get("/books")
    as_member = client.get("/books", headers=member.headers)
    assert as_member.get_data() == second.get_data() == first.get_data()
    remaining = int(first.headers["X-RateLimit-Remaining"])
    assert int(second.headers["X-RateLimit-Remaining"]) == remaining - 1
    assert int(as_member.headers["X-RateLimit-Remaining"]) == remaining


def test_entries_round_trip_through_the_serializer():
    serializer = JSONSerializer()
    body = '{"title": "Ünïcode\\nand a line break"}\n'
    entry = {"v": 7, "body": body, "etag": "e", "headers": {"Link": "<x>; rel=\"next\""}}
    stored = serializer.dumps(entry)
    assert stored.startswith(b'{"v":7,') and stored.endswith(body.encode())
    assert serializer.loads(stored) == {**entry, "body": body.encode()}
    # Plain data and the version stay plain JSON and ASCII digits (INCR works on them).
    assert serializer.loads(serializer.dumps({"a": ["b"]})) == {"a": ["b"]}
    assert serializer.dumps(12) == b"12" and serializer.loads(b"13") == 13
    # An entry stored whole as JSON (before this format) still reads.
    assert serializer.loads(b'{"v":1,"body":"{}","etag":"e","headers":{}}')["body"] == "{}"


def test_a_miss_is_stored_once_its_response_is_closed(client, make_book, count_sql):
    # A server closes the response after the last byte is sent (PEP 3333); only then
    # is the page stored, so storing costs the client no time (api/after_response.py).
    make_book(title="Stored late")
    open_response = client.get("/books", buffered=False)
    assert open_response.get_json()["items"][0]["title"] == "Stored late"
    statements = count_sql()
    assert client.get("/books").status_code == 200
    assert statements != []  # not stored yet: a miss (which stores its own)
    del statements[:]
    open_response.close()  # a second store of the same entry: harmless
    assert client.get("/books").get_data() == open_response.get_data()
    assert statements == []


def test_a_late_store_is_never_served_after_a_change(client, admin, make_book):
    book_id = make_book(title="Before")
    open_response = client.get(f"/books/{book_id}", buffered=False)
    changed = client.patch(f"/books/{book_id}", json={"title": "After"}, headers=admin.headers)
    assert changed.status_code == 200
    open_response.close()  # stores the page built before the change, under the old version
    assert client.get(f"/books/{book_id}").get_json()["title"] == "After"
