"""/admin/calendar and the public /calendar."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from api import clock
from tests.conftest import is_problem


def audit(client, admin):
    body = client.get("/admin/audit?object_type=calendar", headers=admin.headers).get_json()
    return [(e["action"], e["object_id"], e["data"]) for e in body["items"]]


def test_weekdays_replace_and_are_audited(client, admin):
    assert client.get("/admin/calendar", headers=admin.headers).get_json() == {
        "timezone": "UTC", "closed_weekdays": [], "closed_dates": []}
    response = client.put("/admin/calendar/weekdays", headers=admin.headers,
                          json={"closed_weekdays": [7, 6, 7]})
    assert response.status_code == 200 and response.get_json()["closed_weekdays"] == [6, 7]
    again = client.put("/admin/calendar/weekdays", headers=admin.headers, json={"closed_weekdays": [1, 7]})
    assert again.get_json()["closed_weekdays"] == [1, 7]
    client.put("/admin/calendar/weekdays", headers=admin.headers, json={"closed_weekdays": [1, 7]})
    assert audit(client, admin) == [("calendar.weekdays_changed", "weekdays", {"from": [6, 7], "to": [1, 7]}),
                                    ("calendar.weekdays_changed", "weekdays", {"from": [], "to": [6, 7]})]


def test_closing_every_weekday_is_refused(client, admin):
    refused = client.put("/admin/calendar/weekdays", headers=admin.headers,
                         json={"closed_weekdays": [1, 2, 3, 4, 5, 6, 7]})
    assert is_problem(refused, 409) and refused.get_json()["code"] == "calendar_all_closed"
    assert client.get("/admin/calendar", headers=admin.headers).get_json()["closed_weekdays"] == []


@pytest.mark.parametrize("body", [{}, {"closed_weekdays": [0]}, {"closed_weekdays": [8]},
                                  {"closed_weekdays": ["1"]}, {"closed_weekdays": 1},
                                  {"closed_weekdays": [1, 2, 3, 4, 5, 6, 7, 1]}])
def test_bad_weekdays(client, admin, body):
    assert is_problem(client.put("/admin/calendar/weekdays", headers=admin.headers, json=body), 400)


def test_close_and_reopen_a_date(client, admin):
    created = client.post("/admin/calendar/closed-dates", headers=admin.headers,
                          json={"date": "2026-12-25", "reason": "Christmas"})
    assert created.status_code == 201
    assert created.get_json() == {"date": "2026-12-25", "reason": "Christmas", "task_id": None,
                                  "status_url": None}
    assert created.headers["Location"].endswith("/admin/calendar/closed-dates/2026-12-25")
    assert client.get(created.headers["Location"], headers=admin.headers).get_json() == {
        "date": "2026-12-25", "reason": "Christmas"}
    duplicate = client.post("/admin/calendar/closed-dates", headers=admin.headers,
                            json={"date": "2026-12-25"})
    assert is_problem(duplicate, 409) and duplicate.get_json()["code"] == "duplicate"
    assert client.get("/admin/calendar", headers=admin.headers).get_json()["closed_dates"] == [
        {"date": "2026-12-25", "reason": "Christmas"}]

    assert client.delete("/admin/calendar/closed-dates/2026-12-25", headers=admin.headers).status_code == 204
    assert is_problem(client.delete("/admin/calendar/closed-dates/2026-12-25", headers=admin.headers), 404)
    assert is_problem(client.get("/admin/calendar/closed-dates/2026-12-25", headers=admin.headers), 404)
    assert is_problem(client.delete("/admin/calendar/closed-dates/25-12-2026", headers=admin.headers), 404)
    assert is_problem(client.delete("/admin/calendar/closed-dates/2026-02-30", headers=admin.headers), 404)
    assert audit(client, admin) == [("calendar.date_opened", "2026-12-25", {"reason": "Christmas"}),
                                    ("calendar.date_closed", "2026-12-25", {"reason": "Christmas"})]


@pytest.mark.parametrize("body", [{}, {"date": "tomorrow"}, {"date": "2026-13-01"}, {"date": 20261225},
                                  {"date": "2026-12-25", "reason": ""},
                                  {"date": "2026-12-25", "reason": "x" * 201},
                                  {"date": "2026-12-25", "extra": 1}])
def test_bad_closed_dates(client, admin, body):
    assert is_problem(client.post("/admin/calendar/closed-dates", headers=admin.headers, json=body), 400)


def test_calendar_admin_is_for_admins(client, member):
    assert is_problem(client.get("/admin/calendar", headers=member.headers), 403)
    assert is_problem(client.put("/admin/calendar/weekdays", headers=member.headers,
                                 json={"closed_weekdays": []}), 403)
    assert is_problem(client.post("/admin/calendar/closed-dates", json={"date": "2026-12-25"}), 401)
    assert is_problem(client.delete("/admin/calendar/closed-dates/2026-12-25", headers=member.headers), 403)


def test_public_calendar_shows_each_day(client, admin):
    client.put("/admin/calendar/weekdays", headers=admin.headers, json={"closed_weekdays": [7]})
    client.post("/admin/calendar/closed-dates", headers=admin.headers,
                json={"date": "2026-12-25", "reason": "Xmas"})
    body = client.get("/calendar?from=2026-12-24&to=2026-12-27").get_json()
    assert body == {"timezone": "UTC", "days": [
        {"date": "2026-12-24", "open": True, "reason": None},
        {"date": "2026-12-25", "open": False, "reason": "Xmas"},
        {"date": "2026-12-26", "open": True, "reason": None},
        {"date": "2026-12-27", "open": False, "reason": None}]}


def test_public_calendar_range_defaults_and_limits(client, app, monkeypatch):
    # "Today" is the library's, which in Auckland is often not UTC's.
    monkeypatch.setitem(app.config, "LIBRARY_TIMEZONE", "Pacific/Auckland")
    today = clock.utcnow().astimezone(ZoneInfo("Pacific/Auckland")).date()
    days = client.get("/calendar").get_json()["days"]
    assert len(days) == 30 and days[0]["date"] == today.isoformat()
    assert len(client.get("/calendar?from=2026-01-01&to=2026-12-31").get_json()["days"]) == 365
    assert len(client.get("/calendar?from=2028-01-01&to=2028-12-31").get_json()["days"]) == 366
    assert len(client.get("/calendar?from=2026-05-05&to=2026-05-05").get_json()["days"]) == 1
    for query in ("from=2026-01-01&to=2027-01-02", "from=2026-02-01&to=2026-01-31", "from=x",
                  "to=2026-01-01&to=2026-01-02", "from=2026-01-01&extra=1"):
        assert is_problem(client.get(f"/calendar?{query}"), 400), query
    span = datetime.fromisoformat(days[-1]["date"]) - datetime.fromisoformat(days[0]["date"])
    assert span == timedelta(days=29)


@pytest.mark.postgres
def test_two_weekday_changes_at_once_never_close_every_day(client, app, admin):
    # Another admin's change, uncommitted: it holds the weekdays lock and has written
    # [4, 5, 6, 7]. Ours must wait for it and then replace what it committed; read
    # before that commit, it would keep those four rows and add its three: all seven.
    import threading

    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from api.days.manage import lock_weekdays
    from api.extensions import db
    from tests.worker.fixtures import wait_for

    with app.app_context():
        engine = db.engine
    other = Session(engine)
    lock_weekdays(other)
    other.execute(text("INSERT INTO closed_weekdays (weekday) VALUES (4), (5), (6), (7)"))
    answers = []
    ours = threading.Thread(target=lambda: answers.append(client.put(
        "/admin/calendar/weekdays", headers=admin.headers, json={"closed_weekdays": [1, 2, 3]})))
    ours.start()
    try:
        with engine.connect() as probe:
            wait_for(lambda: waiting_on_the_lock(probe), message="our change to wait for the other's")
    finally:
        other.commit()
        other.close()
        ours.join()
    assert answers[0].status_code == 200, answers[0].get_json()
    assert client.get("/admin/calendar", headers=admin.headers).get_json()["closed_weekdays"] == [1, 2, 3]


def waiting_on_the_lock(probe) -> bool:
    from sqlalchemy import text

    count = probe.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                               " AND wait_event = 'advisory'")).scalar()
    probe.rollback()  # pg_stat_activity is read once per transaction: a new one each time
    return count == 1
