"""The fine formula at each boundary, and the library days it counts."""

from datetime import UTC, date, datetime

import pytest

from api.accounts.fines import fine_amount
from api.days.service import library_date, open_days_between
from api.extensions import db
from api.models import ClosedDate, ClosedWeekday
from tests.accounts.conftest import sql_days


def fine(days, *, per_day=10, grace=0, cap=1000):
    return fine_amount(fine_per_day=per_day, grace_days=grace, max_fine=cap, chargeable_days=days)


@pytest.mark.parametrize("days, expected", [(0, 0), (1, 10), (2, 20), (7, 70)])
def test_no_grace_every_chargeable_day_costs_fine_per_day(days, expected):
    assert fine(days) == expected


@pytest.mark.parametrize("days, expected", [(0, 0), (1, 0), (2, 0), (3, 30), (4, 40)])
def test_grace_is_free_while_within_it_then_every_day_counts(days, expected):
    # "0 while that count is within fine_grace_days": 2 days of grace forgive days 1-2;
    # on day 3 the fine is 3 days, not 1 (the grace is a window, not a deduction).
    assert fine(days, grace=2) == expected


@pytest.mark.parametrize("days, expected", [(9, 90), (10, 100), (11, 100), (1000, 100)])
def test_capped_at_max_fine(days, expected):
    assert fine(days, cap=100) == expected


def test_cap_below_one_day_and_grace_edge_together():
    assert fine(3, per_day=50, grace=2, cap=40) == 40
    assert fine(2, per_day=50, grace=2, cap=40) == 0


@pytest.mark.parametrize("days", [0, 1, 30, 10_000])
def test_zero_fine_per_day_never_charges(days):
    assert fine(days, per_day=0) == 0
    assert fine(days, per_day=0, grace=0, cap=0) == 0


def test_zero_cap_never_charges():
    assert fine(5, cap=0) == 0


def test_chargeable_days_are_open_days_after_the_due_day(app_ctx):
    # Every day open: the date difference, counted by the database as the job does.
    due = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    assert sql_days(due, date(2026, 3, 2)) == 0  # the due day itself is free
    assert sql_days(due, date(2026, 3, 3)) == 1
    assert sql_days(due, date(2026, 3, 9)) == 7 == open_days_between(db.session, date(2026, 3, 2),
                                                                     date(2026, 3, 9))
    assert sql_days(due, date(2026, 3, 1)) == 0  # returned before it was due


def test_closed_days_are_skipped_as_open_days_between_skips_them(app_ctx):
    db.session.add(ClosedWeekday(weekday=7))
    db.session.add(ClosedDate(date=date(2026, 3, 10), reason="Inventory"))
    db.session.commit()
    # Due Friday 2026-03-06; to Monday 2026-03-09: Saturday and Monday open, Sunday closed.
    due = datetime(2026, 3, 6, 12, tzinfo=UTC)
    assert sql_days(due, date(2026, 3, 9)) == 2 == open_days_between(db.session, date(2026, 3, 6),
                                                                     date(2026, 3, 9))
    assert sql_days(due, date(2026, 3, 10)) == 2  # the closed date is not charged either
    assert sql_days(due, date(2026, 3, 11)) == 3


def test_library_days_follow_library_timezone(app):
    with app.app_context():
        saved = app.config.get("LIBRARY_TIMEZONE")
        app.config["LIBRARY_TIMEZONE"] = "Pacific/Auckland"
        try:
            # 20:00 UTC on 1 March is 09:00 on 2 March in Auckland (UTC+13 in summer).
            assert library_date(datetime(2026, 3, 1, 20, 0, tzinfo=UTC)) == date(2026, 3, 2)
        finally:
            if saved is None:
                app.config.pop("LIBRARY_TIMEZONE")
            else:
                app.config["LIBRARY_TIMEZONE"] = saved
        assert library_date(datetime(2026, 3, 1, 20, 0, tzinfo=UTC)) == date(2026, 3, 1)
