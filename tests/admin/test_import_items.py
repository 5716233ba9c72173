"""A catalog import's barcodes and copies become items (worker/import_items.py)."""

import pytest
from sqlalchemy import select

from api.books.isbn import isbn13_from_number
from api.extensions import db
from api.models import Book, Hold, Item, Notification
from tests.admin.jobs import import_file, messages
from tests.invariants.checks import violations

pytestmark = pytest.mark.worker

HEADER = "title,author,isbn,published_year,barcode,item_type,copies\n"


def isbn(n: int) -> str:
    return isbn13_from_number(700_000 + n)


def rows(*lines: str) -> bytes:
    return (HEADER + "".join(line + "\n" for line in lines)).encode()


def items_of(worker_app, isbn_: str) -> list[tuple[str, str, str]]:
    with worker_app.app_context():
        return db.session.execute(
            select(Item.barcode, Item.item_type, Item.status).join(Book, Book.id == Item.book_id)
            .where(Book.isbn == isbn_).order_by(Item.barcode)).all()


def test_existing_book_gains_only_new_barcodes_and_its_queue_gets_them(worker_app, admin, member,
                                                                      other_member, celery_worker):
    client = worker_app.test_client()
    book = client.post("/books", headers=admin.headers, json={
        "title": "Dune", "author": "Frank Herbert", "isbn": isbn(1), "published_year": 1965, "copies": 1})
    book_id = book.get_json()["id"]
    assert client.post("/loans", headers=member.headers, json={"book_id": book_id}).status_code == 201
    hold = client.post("/holds", headers=other_member.headers, json={"book_id": book_id}).get_json()

    # copies=5 does not add to a book that exists: only the new barcode does.
    run = import_file(client, admin, rows(f"Dune,Frank Herbert,{isbn(1)},1965,DUNE-2,BK,5"))
    assert run["result"]["matched"] == 1 and run["result"]["copies_added"] == 1
    assert items_of(worker_app, isbn(1)) == [(f"{book_id}-1", "book", "on_loan"),
                                            ("DUNE-2", "bk", "on_hold_shelf")]
    with worker_app.app_context():
        ready = db.session.get(Hold, hold["id"])
        assert ready.status == "ready" and ready.item_id is not None
        assert db.session.scalar(select(Notification.kind).where(Notification.hold_id == hold["id"])) \
            == "hold_ready"
        assert violations() == []


def test_known_barcodes_are_skipped_and_another_books_barcode_is_a_warning(worker_app, admin,
                                                                           celery_worker):
    client = worker_app.test_client()
    first = import_file(client, admin, rows(f"One,A,{isbn(2)},2000,SHARED-1,,"))
    assert first["result"]["copies_added"] == 1
    run = import_file(client, admin, rows(f"One,A,{isbn(2)},2000,SHARED-1,,",
                                          f"Two,B,{isbn(3)},2001,SHARED-1,,"))
    assert run["result"]["barcodes_skipped"] == 2 and run["result"]["copies_added"] == 1
    [warning] = messages(client, admin, run["task_id"])["items"]
    assert (warning["ref"], warning["level"], warning["code"]) == ("3", "warning", "barcode_taken")
    # "Two" is created with a generated barcode instead: a book always has a copy.
    assert [b for b, _, _ in items_of(worker_app, isbn(3))] != ["SHARED-1"]
    assert len(items_of(worker_app, isbn(3))) == 1
    with worker_app.app_context():
        assert violations() == []


def test_a_bad_barcode_or_item_type_makes_the_row_invalid(worker_app, admin, celery_worker):
    client = worker_app.test_client()
    run = import_file(client, admin, rows(f"Bad,A,{isbn(4)},2000,{'X' * 40},,",
                                          f"Worse,A,{isbn(5)},2000,OK-1,no spaces,"))
    assert run["result"]["invalid"] == 2 and run["result"]["created"] == 0
    assert {m["code"] for m in messages(client, admin, run["task_id"])["items"]} == {"invalid_item"}


def test_dry_run_counts_items_as_the_real_run_does(worker_app, admin, celery_worker):
    worker_app.config["IMPORT_BATCH_SIZE"] = 2
    try:
        client = worker_app.test_client()
        import_file(client, admin, rows(f"Old,A,{isbn(6)},2000,OLD-1,,"))
        data = rows(f"Old,A,{isbn(6)},2000,OLD-1,,", f"Old,A,{isbn(6)},2000,OLD-2,,",
                    f"New,B,{isbn(7)},2001,,dvd,3", f"New,B,{isbn(7)},2001,NEW-1,,",
                    f"New,B,{isbn(7)},2001,OLD-2,,")
        dry = import_file(client, admin, data, dry_run=True)
        real = import_file(client, admin, data)
    finally:
        worker_app.config["IMPORT_BATCH_SIZE"] = 500
    keys = ("created", "matched", "copies_added", "barcodes", "barcodes_skipped")
    assert {k: dry["result"][k] for k in keys} == {k: real["result"][k] for k in keys} == {
        "created": 1, "matched": 4, "copies_added": 4, "barcodes": 4, "barcodes_skipped": 2}
    # New: NEW-1 and two generated copies of its first row's type make its 3 copies;
    # OLD-2, which Old took first, is not moved.
    assert sorted(t for _, t, _ in items_of(worker_app, isbn(7))) == ["book", "dvd", "dvd"]
    assert [b for b, _, _ in items_of(worker_app, isbn(6))] == ["OLD-1", "OLD-2"]
    with worker_app.app_context():
        assert violations() == []
