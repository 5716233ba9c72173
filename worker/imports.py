"""The catalog import job: an upload (CSV, MARC 21, MARCXML) into books, in batches.

The upload is read from the database chunk by chunk (api/admin/files.py) and parsed
one record at a time (worker/import_formats.py); every IMPORT_BATCH_SIZE records are
one transaction: the new books (one INSERT ... ON CONFLICT (isbn) DO NOTHING, so a
book is matched by ISBN and never duplicated, even against a concurrent import), the
batch's messages, and the run's progress. Cancelling stops at a batch boundary with
the finished batches kept. A real run redelivered after its worker died goes on
after the last batch the dead attempt committed (its counts, messages and report are
in that transaction), so each record is counted and reported once, as if nothing had
happened. A dry run reads the same way and writes nothing but its
report; it remembers the ISBNs and barcodes it would have added so its counts match
a real run's. Barcodes and copies become items in the batch's transaction
(worker/import_items.py).

The run's output is a report, one CSV line per record: its ref, ISBN, outcome
(`created`, `matched`, `invalid`; `new` in a dry run) and book id, written with the
batch it belongs to. Its cells quote the uploaded file, so a formula in it is
defused as the exports' are (worker/csv_text.py).

Progress is in bytes of the upload read (`total` is the file size): the number of
records is not known until the file has been read, and reading it twice would
double the work.
"""

from collections import deque
from itertools import islice

from celery import shared_task
from flask import current_app
from sqlalchemy import select

from api.admin.files import ChunkReader, JobFailed, OutputWriter
from api.caching import mark_catalog_changed
from api.extensions import db
from api.models import Book, TaskFile
from worker import tracking
from worker.csv_text import csv_text
from worker.import_formats import READERS, clean
from worker.import_items import plan_items, write_items


@shared_task(name="worker.imports.catalog_import", bind=True)
def catalog_import(self):
    return tracking.run_with_handle(self, "catalog-import", import_catalog)


def import_catalog(run: tracking.JobRun) -> dict:
    params = run.params
    file = db.session.get(TaskFile, params["file_id"])
    if file is None or not file.complete:
        raise JobFailed("The upload is no longer stored (removed after the retention period?); "
                        "upload the file again.")
    size = file.size
    db.session.commit()
    counts = {"format": params["format"], "dry_run": params["dry_run"], "records": 0, "created": 0,
              "matched": 0, "invalid": 0, "copies_added": 0, "barcodes": 0, "barcodes_skipped": 0}
    # Redelivered after its worker died, a real run goes on after the last batch that
    # attempt committed (counts, messages and report kept); a dry run, whose memory of
    # what it would have added died with it, starts again.
    left = run.start(resume=not params["dry_run"])
    counts.update((key, left[key]) for key in counts if key in left)
    raw = ChunkReader(params["file_id"])
    records = READERS[params["format"]](raw)
    deque(islice(records, counts["records"]), maxlen=0)  # read past the records imported
    # A dry run remembers the ISBNs and barcodes it would have added (the only memory
    # that grows with the file), so its counts match a real run's.
    seen: dict[str, set[str]] | None = {"isbns": set(), "barcodes": set()} if params["dry_run"] else None
    batch_size = current_app.config["IMPORT_BATCH_SIZE"]
    stem = params["filename"].rsplit(".", 1)[0][:80] or "import"
    report = OutputWriter(run.id, filename=f"{stem}-report{'-dry-run' if seen is not None else ''}.csv",
                          content_type="text/csv", resume=bool(left))
    if report.file.size == 0:
        report.write(b"ref,isbn,outcome,book_id,detail\r\n")
    done = min(raw.consumed, size)
    run.checkpoint(done, size, counts)
    while batch := list(islice(records, batch_size)):
        tracking.cancel_point(run.id, done, size)  # `done`: the batch in hand is read, not imported
        lines = _import_batch(run, batch, counts, seen)
        report.write(lines.encode())
        report.flush()
        done = min(raw.consumed, size)
        run.checkpoint(done, size, counts)
    report.close()
    run.checkpoint(size, size, counts)
    return run.with_counts(counts)


def _import_batch(run: tracking.JobRun, batch: list, counts: dict, seen: dict[str, set[str]] | None) -> str:
    """Import one batch; the report's lines for it."""
    good, outcomes = [], []
    for ref, fields in batch:
        counts["records"] += 1
        if isinstance(fields, str):
            run.message(ref, "error", "unreadable_record", fields)
            counts["invalid"] += 1
            outcomes.append((ref, "", "invalid", fields))
            continue
        values, problems = clean(fields)
        for code, detail in problems:
            run.message(ref, "error", code, detail)
        if values is None:
            counts["invalid"] += 1
            outcomes.append((ref, (fields.get("isbn") or "")[:20], "invalid",
                             "; ".join(detail for _, detail in problems)))
        else:
            values["ref"] = ref
            good.append(values)
    first_by_isbn: dict[str, dict] = {}
    for values in good:
        first_by_isbn.setdefault(values["isbn"], values)
    books = dict(db.session.execute(select(Book.isbn, Book.id).where(Book.isbn.in_(first_by_isbn))).all())
    earlier = set() if seen is None else seen["isbns"]  # a dry run's books of earlier batches
    new_isbns = {isbn for isbn in first_by_isbn if isbn not in books and isbn not in earlier}
    plan = plan_items(db.session, good, new_isbns=new_isbns, books=books,
                      seen=None if seen is None else seen["barcodes"])
    if seen is not None:  # dry run: what would be new, without writing
        created = new_isbns
        seen["isbns"].update(created)
        db.session.commit()  # ends the dry run's read transaction
    else:
        # A new book is written with the copies its items will give it, so the items
        # need no second write of the book (each one rewrites its search indexes).
        rows = [{"title": v["title"], "author": v["author"], "isbn": v["isbn"],
                 "published_year": v["published_year"], "description": v["description"],
                 "copies_total": plan.copies(v["isbn"]), "copies_available": plan.copies(v["isbn"])}
                for v in first_by_isbn.values() if v["isbn"] in new_isbns]
        created = set(tracking.insert_ignore(Book, rows, ["isbn"], returning=Book.isbn))
        plan.not_created(new_isbns - created)  # another import created them first
        if created:
            mark_catalog_changed(db.session)
        books = dict(db.session.execute(select(Book.isbn, Book.id).where(Book.isbn.in_(first_by_isbn))).all())
    counts["created"] += len(created)
    counts["matched"] += len(good) - len(created)
    for ref, detail in plan.warnings:
        run.message(ref, "warning", "barcode_taken", detail)
    counts["barcodes"] += sum(len(row["items"]) for row in good)
    counts["barcodes_skipped"] += plan.skipped
    counts["copies_added"] += plan.count if seen is not None else write_items(
        db.session, plan, books, new_isbns=created)
    firsts = {id(v) for v in first_by_isbn.values()}
    new = "new" if seen is not None else "created"
    for values in good:
        outcome = new if values["isbn"] in created and id(values) in firsts else "matched"
        outcomes.append((values["ref"], values["isbn"], outcome,
                         books.get(values["isbn"], "") if seen is None else ""))
    lines = []
    for ref, isbn, outcome, extra in sorted(outcomes, key=lambda o: o[0]):
        book_id, detail = (extra, "") if outcome != "invalid" else ("", extra)
        lines.append([ref, isbn, outcome, book_id, detail])
    return csv_text(lines)
