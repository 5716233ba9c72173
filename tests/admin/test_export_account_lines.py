"""export-account-lines through a real worker: its parameters, batches and CSV."""

import csv
import io
import uuid
from datetime import UTC, datetime

import pytest

from api.extensions import db
from api.models import AccountLine
from tests.admin.jobs import status, wait_finished
from tests.admin.test_job_control import small_batches, start  # noqa: F401  (fixture)
from tests.conftest import is_problem
from tests.helpers import create_user

pytestmark = pytest.mark.worker


def add_lines(worker_app, admin_id: int, days: list[int]) -> list[int]:
    """One manual charge per day of January 2026 in `days` (at noon UTC), then a payment."""
    user = create_user(worker_app, f"payer{uuid.uuid4().hex[:8]}")
    with worker_app.app_context():
        lines = [AccountLine(user_id=user.id, kind="manual", amount=100 + day, note=f"day {day}",
                             created_at=datetime(2026, 1, day, 12, tzinfo=UTC), created_by=admin_id)
                 for day in days]
        lines.append(AccountLine(user_id=user.id, kind="payment", amount=-50,
                                 created_at=datetime(2026, 2, 1, tzinfo=UTC)))
        db.session.add_all(lines)
        db.session.commit()
        return [line.id for line in lines]


def test_parameters_are_checked(worker_app, admin, clean_broker):
    client = worker_app.test_client()
    assert is_problem(start(client, admin, "export-account-lines", {"from": "soon"}), 400)
    assert is_problem(start(client, admin, "export-account-lines", {"since": "2026-01-01"}), 400)
    # Bounds near the ends of the calendar were a 500 or a failed run.
    far = [{"to": "9999-12-31"}, {"to": "9999-12-31T23:59:59.999999"}, {"from": "0001-01-01T00:00:00+01:00"}]
    for params in far:
        assert is_problem(start(client, admin, "export-account-lines", params), 400)
    bad = start(client, admin, "export-account-lines", {"from": "2026-02-01", "to": "2026-01-01"})
    assert is_problem(bad, 400) and "to" in bad.get_json()["errors"]
    response = start(client, admin, "export-account-lines",
                     {"from": "2026-01-01", "to": "2026-01-05T10:00:00"})
    assert response.status_code == 202
    assert status(client, admin, response.get_json()["task_id"])["params"] == {
        "from": "2026-01-01", "to": "2026-01-05T10:00:00+00:00"}


def test_export_account_lines_writes_the_ledger_in_batches(
        worker_app, admin, small_batches, celery_worker):  # noqa: F811
    ids = add_lines(worker_app, admin.id, [1, 2, 3, 4, 5])
    client = worker_app.test_client()
    # A day `to` is inclusive; a datetime `from` is an instant (day 2 at noon is in).
    run_id = start(client, admin, "export-account-lines",
                   {"from": "2026-01-02T12:00:00Z", "to": "2026-01-04"}).get_json()["task_id"]
    run = wait_finished(client, admin, run_id)
    assert run["state"] == "succeeded", run
    assert run["result"]["rows"] == 3 and run["progress"] == {"current": 3, "total": 3}
    response = client.get(run["output_url"], headers=admin.headers)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=account-lines-")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [int(r["id"]) for r in rows] == ids[1:4]
    assert rows[0] == {"id": str(ids[1]), "user_id": rows[0]["user_id"], "kind": "manual",
                       "amount": "102", "currency": worker_app.config["CURRENCY"], "loan_id": "",
                       "note": "day 2", "created_at": "2026-01-02T12:00:00+00:00",
                       "created_by": str(admin.id)}

    everything = wait_finished(client, admin, start(client, admin, "export-account-lines")
                               .get_json()["task_id"])
    body = client.get(everything["output_url"], headers=admin.headers).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [int(r["id"]) for r in rows] == ids  # 6 rows: three batches of 2
    assert rows[-1]["kind"] == "payment" and rows[-1]["amount"] == "-50" and rows[-1]["created_by"] == ""
