"""next_open and open_days_between: library days in LIBRARY_TIMEZONE, DST-safe."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event

from api.days.service import MAX_SEARCH_DAYS, library_date, next_open, open_days_between
from api.extensions import db


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_open_day_is_kept(app_ctx, close):
    close(weekdays=[7])
    when = utc(2026, 12, 2, 15, 30)  # a Wednesday
    assert next_open(db.session, when) is when


def test_closed_weekday_and_closed_date_move_to_the_same_time_next_open_day(app_ctx, close):
    close(weekdays=[7], dates=[date(2026, 12, 5), date(2026, 12, 7)])  # Sat, (Sun), Mon closed
    assert next_open(db.session, utc(2026, 12, 5, 16, 45)) == utc(2026, 12, 8, 16, 45)
    assert next_open(db.session, utc(2026, 12, 6, 9)) == utc(2026, 12, 8, 9)
    assert next_open(db.session, utc(2026, 12, 4, 23, 59)) == utc(2026, 12, 4, 23, 59)


def test_the_library_date_not_the_utc_date_decides(app_ctx, close, zone):
    zone("Pacific/Auckland")  # UTC+13 in December
    close(dates=[date(2026, 12, 25)])
    # 20:00 UTC on the 24th is 09:00 on the 25th in Auckland: closed.
    moved = next_open(db.session, utc(2026, 12, 24, 20))
    assert moved == utc(2026, 12, 25, 20)  # 09:00 on the 26th, Auckland
    assert library_date(moved) == date(2026, 12, 26)
    # 12:00 UTC on the 25th is already the 26th in Auckland: open, unchanged.
    assert next_open(db.session, utc(2026, 12, 25, 12)) == utc(2026, 12, 25, 12)


def test_west_of_utc(app_ctx, close, zone):
    zone("America/Los_Angeles")  # UTC-8 in December
    close(dates=[date(2026, 12, 24)])
    # 03:00 UTC on the 25th is 19:00 on the 24th in Los Angeles.
    assert next_open(db.session, utc(2026, 12, 25, 3)) == utc(2026, 12, 26, 3)
    assert next_open(db.session, utc(2026, 12, 24, 3)) == utc(2026, 12, 24, 3)  # the 23rd there


def test_same_wall_time_across_the_autumn_dst_change(app_ctx, close, zone):
    zone("America/Los_Angeles")  # PDT -> PST on Sunday 2026-11-01
    close(weekdays=[7], dates=[date(2026, 10, 31)])
    due = utc(2026, 10, 31, 17)  # Saturday 10:00 PDT
    assert next_open(db.session, due) == utc(2026, 11, 2, 18)  # Monday 10:00 PST


def test_wall_time_in_the_spring_gap_lands_after_it(app_ctx, close, zone):
    zone("America/Los_Angeles")  # 02:00 -> 03:00 on Sunday 2026-03-08
    close(dates=[date(2026, 3, 7)])
    due = utc(2026, 3, 7, 10, 30)  # Saturday 02:30 PST
    moved = next_open(db.session, due)
    assert moved == utc(2026, 3, 8, 10, 30)  # 03:30 PDT, the instant 02:30 PST names
    assert library_date(moved) == date(2026, 3, 8)


def test_search_is_bounded(app_ctx, close):
    sundays = [date(2026, 12, 6) + timedelta(weeks=w) for w in range(MAX_SEARCH_DAYS // 7 + 2)]
    close(weekdays=[1, 2, 3, 4, 5, 6], dates=sundays)
    when = utc(2026, 12, 7, 10)
    assert next_open(db.session, when) == when  # nothing open in reach: kept, not looped forever


def brute_force(closed_weekdays, closed_dates, start, end) -> int:
    days = (start + timedelta(days=i) for i in range(1, (end - start).days + 1))
    return sum(d.isoweekday() not in closed_weekdays and d not in closed_dates for d in days)


def test_open_days_between_counts_each_closed_day_once(app_ctx, close):
    weekdays = {6, 7}
    dates = {date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26), date(2027, 1, 1)}  # 26th: a Saturday
    close(weekdays=weekdays, dates=dates)
    start = date(2026, 12, 1)
    for span in (0, 1, 5, 6, 7, 13, 23, 24, 25, 31, 45, 400):
        end = start + timedelta(days=span)
        assert open_days_between(db.session, start, end) == brute_force(weekdays, dates, start, end), span
    assert open_days_between(db.session, date(2026, 12, 10), date(2026, 12, 1)) == 0


@pytest.mark.parametrize("span", [1, 3650])
def test_open_days_between_queries_do_not_grow_with_the_range(app_ctx, close, span):
    close(weekdays=[7])
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        open_days_between(db.session, date(2026, 1, 1), date(2026, 1, 1) + timedelta(days=span))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 2
