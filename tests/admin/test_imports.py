"""POST /admin/imports through a real worker: CSV, MARC 21 and MARCXML."""

import csv
import io

import pytest
from sqlalchemy import func, select

from api.extensions import db
from api.models import Book, Item, TaskRun
from tests.admin.jobs import catalog_csv, import_file, messages, sample, upload
from tests.helpers import is_problem

pytestmark = pytest.mark.worker

CSV_COUNTS = {"records": 7, "created": 3, "matched": 1, "invalid": 3, "copies_added": 5, "barcodes": 3,
              "barcodes_skipped": 0}
MARC_COUNTS = {"records": 4, "created": 3, "matched": 0, "invalid": 1, "copies_added": 4, "barcodes": 3,
               "barcodes_skipped": 0}


def books(worker_app) -> dict[str, tuple]:
    with worker_app.app_context():
        rows = db.session.execute(select(Book.isbn, Book.title, Book.author, Book.published_year,
                                         Book.copies_total)).all()
        return {row.isbn: tuple(row[1:]) for row in rows}


def items(worker_app) -> set[tuple]:
    with worker_app.app_context():
        return set(db.session.execute(select(Book.isbn, Item.barcode, Item.item_type)
                                      .join(Item, Item.book_id == Book.id)).all())


def counts(result: dict) -> dict:
    return {k: result[k] for k in CSV_COUNTS}


def test_csv_dry_run_then_import_then_again_changes_nothing(worker_app, admin, celery_worker):
    client = worker_app.test_client()
    dry = import_file(client, admin, sample("catalog.csv"), dry_run=True)
    assert dry["state"] == "succeeded", dry
    assert counts(dry["result"]) == CSV_COUNTS and dry["result"]["dry_run"] is True
    assert books(worker_app) == {}
    assert dry["progress"]["current"] == dry["progress"]["total"] == len(sample("catalog.csv"))

    real = import_file(client, admin, sample("catalog.csv"))
    assert counts(real["result"]) == CSV_COUNTS
    assert books(worker_app) == {
        "9780441478125": ("The Left Hand of Darkness", "Ursula K. Le Guin", 1969, 2),
        "9780807083055": ("Kindred", "Octavia E. Butler", 1979, 2),
        "9780156453806": ("Invisible Cities", "Italo Calvino", 1972, 1),
    }
    assert {(m["ref"], m["code"]) for m in messages(client, admin, real["task_id"])["items"]} == {
        ("6", "invalid_isbn"), ("7", "missing_field"), ("8", "invalid_year")}

    report = client.get(real["output_url"], headers=admin.headers)
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert 'filename=catalog-report.csv' in report.headers["Content-Disposition"]
    lines = list(csv.DictReader(io.StringIO(report.get_data(as_text=True))))
    assert [(r["ref"], r["outcome"]) for r in lines] == [
        ("2", "created"), ("3", "matched"), ("4", "created"), ("5", "created"),
        ("6", "invalid"), ("7", "invalid"), ("8", "invalid")]
    assert lines[0]["book_id"] == lines[1]["book_id"] != ""
    assert "check digit" in lines[4]["detail"]

    # Every copy is an item: the barcodes of the file, generated ones for `copies`.
    assert items(worker_app) == {
        ("9780441478125", "LIB-0001", "book"), ("9780441478125", "LIB-0002", "book"),
        *(("9780807083055", f"{lines[2]['book_id']}-{k}", "book") for k in (1, 2)),
        ("9780156453806", "LIB-0003", "book")}

    before, items_before = books(worker_app), items(worker_app)
    second = import_file(client, admin, sample("catalog.csv"))
    assert second["result"]["created"] == 0 and second["result"]["matched"] == 4
    assert second["result"]["copies_added"] == 0 and second["result"]["barcodes_skipped"] == 3
    assert books(worker_app) == before and items(worker_app) == items_before


@pytest.mark.parametrize("fmt,name", [("marc", "catalog.mrc"), ("marcxml", "catalog.xml")])
def test_marc_records_become_books(worker_app, admin, celery_worker, fmt, name):
    client = worker_app.test_client()
    run = import_file(client, admin, sample(name), fmt)
    assert run["state"] == "succeeded", run
    assert counts(run["result"]) == MARC_COUNTS
    assert books(worker_app) == {
        "9780547928227": ("The hobbit : or, There and back again", "Tolkien, J. R. R", 2012, 2),
        "9780679720201": ("Beloved : a novel", "Morrison, Toni", 1987, 1),
        "9780140449136": ("The Odyssey", "Homer", 2003, 1),
    }
    [message] = messages(client, admin, run["task_id"])["items"]
    assert message["ref"] == "4" and message["code"] == "invalid_isbn"
    again = import_file(client, admin, sample(name), fmt)
    assert again["result"]["created"] == 0 and again["result"]["matched"] == 3


def test_a_dry_run_reports_what_a_real_run_does_across_batches(worker_app, admin, celery_worker):
    worker_app.config["IMPORT_BATCH_SIZE"] = 4
    try:
        again = catalog_csv(5).split(b"\n", 1)[1]  # without its header
        data = catalog_csv(10, bad_every=3) + again
        client = worker_app.test_client()
        dry = import_file(client, admin, data, dry_run=True)
        real = import_file(client, admin, data)
    finally:
        worker_app.config["IMPORT_BATCH_SIZE"] = 500
    # Books 1-5 come again in later batches: 1, 2, 4, 5 are matched (3 was refused the
    # first time, without a title), in the dry run as in the real one.
    assert counts(dry["result"]) == counts(real["result"])
    assert real["result"]["created"] == 8 and real["result"]["matched"] == 4
    assert len(books(worker_app)) == 8


def test_malformed_marc_fails_the_run_with_a_reason(worker_app, admin, celery_worker):
    client = worker_app.test_client()
    run = import_file(client, admin, b"<collection><record>", "marcxml")
    assert run["state"] == "failed" and "Malformed MARCXML" in run["error"]
    binary = import_file(client, admin, b"00026     not marc at all\x1d", "marc")
    assert binary["state"] == "succeeded"
    assert binary["result"]["invalid"] == 1 and binary["result"]["records"] == 1


def test_a_bad_row_is_a_message_whatever_is_wrong_with_it(worker_app, admin, celery_worker):
    # A field longer than the csv module's default limit, and NULs (which PostgreSQL
    # stores nowhere): each fails its row, never the import.
    client = worker_app.test_client()
    rows = [b"title,author,isbn,published_year",
            b"Long," + b"x" * 200_000 + b",9780306406157,2001",
            b"Nul\x00title,Someone,9780441478125,2001",
            b"Fine,Someone,97808070\x0083055,2001",
            b"Kindred,Octavia E. Butler,9780807083055,1979"]
    run = import_file(client, admin, b"\n".join(rows) + b"\n")
    assert run["state"] == "succeeded", run
    assert (run["result"]["records"], run["result"]["invalid"], run["result"]["created"]) == (4, 3, 1)
    codes = {m["ref"]: m["code"] for m in messages(client, admin, run["task_id"])["items"]}
    assert codes == {"2": "too_long", "3": "bad_chars", "4": "invalid_isbn"}


def test_a_huge_bad_field_is_quoted_short(worker_app, admin, celery_worker, monkeypatch):
    # Quoted whole (as repr, four characters a control byte), it made the report line
    # larger than the run's output may be, and the import failed with its good rows.
    monkeypatch.setitem(worker_app.config, "TASK_OUTPUT_MAX_BYTES", 1_000_000)
    client = worker_app.test_client()
    rows = [b"title,author,isbn,published_year,copies",
            b"Kindred,Octavia E. Butler,9780807083055,1979,1",
            b"Bad,Someone,9780306406157," + b"\x01" * 1_000_000 + b",1",
            b"Bad copies,Someone,9780441478125,2001," + b"9" * 1_000_000]
    run = import_file(client, admin, b"\n".join(rows) + b"\n")
    assert run["state"] == "succeeded", run
    assert (run["result"]["created"], run["result"]["invalid"]) == (1, 2)
    details = [m["detail"] for m in messages(client, admin, run["task_id"])["items"]]
    assert details and all(len(d) < 400 for d in details), [d[:100] for d in details]
    report = client.get(run["output_url"], headers=admin.headers).get_data()
    assert len(report) < 2000


def test_a_marc_file_corrupt_midway_fails_saying_where(worker_app, admin, celery_worker):
    data = bytearray(sample("catalog.mrc"))
    second = data.index(b"\x1d") + 1  # record 2 starts after record 1's terminator
    data[second:second + 5] = b"0x123"  # its length: not a number
    run = import_file(worker_app.test_client(), admin, bytes(data), "marc")
    assert run["state"] == "failed" and "MARC record 2 cannot be read" in run["error"], run


def test_marc_records_with_line_breaks_or_a_dos_end_between_them_all_import(worker_app, admin, celery_worker):
    data = sample("catalog.mrc")
    records = [r + b"\x1d" for r in data.split(b"\x1d")[:-1]]
    client = worker_app.test_client()
    plain = counts(import_file(client, admin, data, "marc", dry_run=True)["result"])
    assert plain["records"] == len(records) == 4
    for variant in (data + b"\n", data + b"\r\n", data + b"\x1a", b"\n".join(records) + b"\n",
                    b"\r\n".join(records)):
        run = import_file(client, admin, variant, "marc", dry_run=True)
        assert run["state"] == "succeeded", (variant[-3:], run)
        assert counts(run["result"]) == plain


def test_upload_refusals(worker_app, admin, member, clean_broker):
    client = worker_app.test_client()
    assert is_problem(upload(client, admin, b"x", "pdf"), 400)
    no_file = client.post("/admin/imports", headers=admin.headers, content_type="multipart/form-data",
                          data={"format": "csv"})
    assert is_problem(no_file, 400)
    extra = client.post("/admin/imports", headers=admin.headers, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(b"x"), "a.csv"), "format": "csv", "colour": "red"})
    assert is_problem(extra, 400)
    files = [(io.BytesIO(b"x"), "a.csv"), (io.BytesIO(b"y"), "b.csv")]
    two = client.post("/admin/imports", headers=admin.headers, content_type="multipart/form-data",
                      data={"format": "csv", "file": files})
    assert is_problem(two, 400) and "exactly one file" in two.get_json()["detail"]
    assert is_problem(client.post("/admin/imports", headers=admin.headers, json={"format": "csv"}), 415)
    assert is_problem(upload(client, member, b"x"), 403)
    saved = worker_app.config["IMPORT_MAX_BYTES"]
    worker_app.config["IMPORT_MAX_BYTES"] = 1000
    try:
        assert is_problem(upload(client, admin, catalog_csv(100)), 413)
        assert is_problem(upload(client, admin, b"x" * 200_000), 413)
    finally:
        worker_app.config["IMPORT_MAX_BYTES"] = saved
    with worker_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TaskRun)) == 0
    # Larger than MAX_CONTENT_LENGTH (the JSON limit) is fine for an upload.
    assert upload(client, admin, catalog_csv(2000)).status_code == 202


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_redelivered_import_lists_each_message_once(worker_app, admin, clean_broker, dry_run):
    # A worker that dies mid-import leaves the task to be delivered again (acks_late).
    # A dry run starts again from the first record and must not repeat the messages of
    # the attempt that died; a real run goes on after it (its messages kept, not
    # repeated either). Two attempts of one run, one after the other, as then.
    from worker import tracking
    from worker.imports import import_catalog

    client = worker_app.test_client()
    response = upload(client, admin, sample("catalog.csv"), dry_run=dry_run)  # no worker: queued
    assert response.status_code == 202
    run_id = response.get_json()["task_id"]
    with worker_app.app_context():
        assert tracking.begin(run_id, "catalog-import")
        first = import_catalog(tracking.JobRun(run_id))
        again = import_catalog(tracking.JobRun(run_id))
    listed = messages(client, admin, run_id)["items"]
    assert first["messages"] == again["messages"] == {"info": 0, "warning": 0, "error": 3}
    assert counts(first) == counts(again) == CSV_COUNTS
    assert len({(m["ref"], m["code"]) for m in listed}) == len(listed) == 3


class WorkerDied(BaseException):
    """The worker process ending mid-batch (SIGKILL): nothing of the batch commits."""


def test_a_redelivered_import_goes_on_after_the_batches_its_dead_attempt_committed(
        worker_app, admin, clean_broker, monkeypatch):
    from worker import imports, tracking

    monkeypatch.setitem(worker_app.config, "IMPORT_BATCH_SIZE", 2)  # 7 records: 2, 2, 2, 1
    client = worker_app.test_client()
    run_id = upload(client, admin, sample("catalog.csv")).get_json()["task_id"]  # no worker: queued
    write_items, calls = imports.write_items, []

    def dies_in_batch_2(*args, **kwargs):  # its new books written, its items not yet
        calls.append(1)
        if len(calls) == 2:
            raise WorkerDied
        return write_items(*args, **kwargs)

    with worker_app.app_context():
        assert tracking.begin(run_id, "catalog-import")
        monkeypatch.setattr(imports, "write_items", dies_in_batch_2)
        with pytest.raises(WorkerDied):
            imports.import_catalog(tracking.JobRun(run_id))
        db.session.rollback()
        assert db.session.get(TaskRun, run_id).result["records"] == 2  # batch 1 only
        monkeypatch.setattr(imports, "write_items", write_items)
    assert books(worker_app).keys() == {"9780441478125"}  # batch 2's books rolled back
    with worker_app.app_context():
        result = imports.import_catalog(tracking.JobRun(run_id))
    # As one uninterrupted run: books the dead attempt created are not `matched` now.
    assert counts(result) == CSV_COUNTS and result["messages"] == {"info": 0, "warning": 0, "error": 3}
    assert len(messages(client, admin, run_id)["items"]) == 3
    body = client.get(f"/admin/tasks/{run_id}/output", headers=admin.headers).get_data(as_text=True)
    lines = list(csv.DictReader(io.StringIO(body)))
    assert [(r["ref"], r["outcome"]) for r in lines] == [
        ("2", "created"), ("3", "matched"), ("4", "created"), ("5", "created"),
        ("6", "invalid"), ("7", "invalid"), ("8", "invalid")]
    assert books(worker_app).keys() == {"9780441478125", "9780807083055", "9780156453806"}
