"""Helpers for the job-control tests: start runs over HTTP, wait for them, make files."""

import io
import uuid
from datetime import timedelta
from pathlib import Path

from api import clock
from api.books.isbn import isbn13_from_number
from api.extensions import db
from api.models import Hold
from tests.helpers import create_user, take_item
from tests.worker.fixtures import wait_for

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
FINISHED = ("succeeded", "failed", "cancelled")


def status(client, admin, run_id: str) -> dict:
    response = client.get(f"/admin/tasks/{run_id}", headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def wait_finished(client, admin, run_id: str) -> dict:
    return wait_for(lambda: (s := status(client, admin, run_id))["state"] in FINISHED and s,
                    message=f"run {run_id} to finish")


def ready_holds(worker_app, make_book, n: int = 5) -> None:
    """`n` ready holds (each on its own book, a copy on the hold shelf) a day past pickup."""
    now = clock.utcnow()
    member = create_user(worker_app, f"holder{uuid.uuid4().hex[:6]}")
    books = [make_book() for _ in range(n)]
    with worker_app.app_context():
        kept = [(book_id, take_item(book_id, "on_hold_shelf")) for book_id in books]
        db.session.add_all([Hold(user_id=member.id, book_id=book_id, status="ready", item_id=item_id,
                                 created_at=now - timedelta(days=5), ready_at=now - timedelta(days=4),
                                 expires_at=now - timedelta(days=1)) for book_id, item_id in kept])
        db.session.commit()


def upload(client, admin, data: bytes, fmt: str = "csv", *, dry_run: bool = False,
           filename: str = "catalog.csv"):
    return client.post("/admin/imports", headers=admin.headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), filename), "format": fmt,
                             "dry_run": "true" if dry_run else "false"})


def import_file(client, admin, data: bytes, fmt: str = "csv", *, dry_run: bool = False) -> dict:
    response = upload(client, admin, data, fmt, dry_run=dry_run)
    assert response.status_code == 202, response.get_json()
    return wait_finished(client, admin, response.get_json()["task_id"])


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def catalog_csv(rows: int, *, start: int = 1, bad_every: int = 0) -> bytes:
    """`rows` books with distinct valid ISBNs; every `bad_every`-th row lacks a title."""
    lines = ["title,author,isbn,published_year,copies"]
    for n in range(start, start + rows):
        title = "" if bad_every and n % bad_every == 0 else f"Imported {n}"
        lines.append(f"{title},Author {n},{isbn13_from_number(500_000 + n)},{1990 + n % 30},{1 + n % 3}")
    return ("\n".join(lines) + "\n").encode()


def messages(client, admin, run_id: str, query: str = "") -> dict:
    response = client.get(f"/admin/tasks/{run_id}/messages{query}", headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()
