"""Open and closed library days.

Interface used by api.circulation (due dates, pickup deadlines) and the fines job:
`next_open` and `open_days_between`. A library day is a date in LIBRARY_TIMEZONE; it
is closed when its ISO weekday is a closed weekday or the date is a closed date.
Both functions read the calendar in at most two small queries, never one per day.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.clock import utcnow
from api.models import ClosedDate, ClosedWeekday

log = logging.getLogger(__name__)

# How far ahead next_open looks. At least one weekday is always open (closing all seven
# is refused), so only a run of closed dates this long could exhaust it.
MAX_SEARCH_DAYS = 400


def library_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["LIBRARY_TIMEZONE"])


def library_date(when: datetime) -> date:
    """The library date of an aware instant."""
    return when.astimezone(library_zone()).date()


def library_today() -> date:
    return library_date(utcnow())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a library day as aware UTC instants (23 or 25 hours across DST)."""
    zone = library_zone()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def same_time_on(when: datetime, day: date) -> datetime:
    """`when`'s library wall time on `day`, as aware UTC. A wall time that does not exist
    that day (a spring-forward gap) lands at the matching instant after the gap."""
    zone = library_zone()
    local = when.astimezone(zone)
    return datetime.combine(day, local.time(), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Closures:
    """The closed weekdays, and the closed dates of some window, in memory."""

    weekdays: frozenset[int]
    dates: dict[date, str | None]

    def is_open(self, day: date) -> bool:
        return day.isoweekday() not in self.weekdays and day not in self.dates

    def reason(self, day: date) -> str | None:
        return self.dates.get(day)

    def next_open_date(self, day: date) -> date | None:
        """The first open day after `day`, within MAX_SEARCH_DAYS; None if there is none."""
        for offset in range(1, MAX_SEARCH_DAYS + 1):
            candidate = day + timedelta(days=offset)
            if self.is_open(candidate):
                return candidate
        return None


def closed_weekdays(session: Session) -> frozenset[int]:
    return frozenset(session.scalars(select(ClosedWeekday.weekday)))


def closures(session: Session, first: date, last: date) -> Closures:
    """The calendar for library days first..last (inclusive)."""
    rows = session.execute(select(ClosedDate.date, ClosedDate.reason)
                           .where(ClosedDate.date >= first, ClosedDate.date <= last))
    return Closures(closed_weekdays(session), {row.date: row.reason for row in rows})


def next_open(session: Session, when: datetime) -> datetime:
    """`when` if it falls on an open day (library time), else the same local time on the
    next open day. Aware UTC in, aware UTC out."""
    day = library_date(when)
    calendar = closures(session, day, day + timedelta(days=MAX_SEARCH_DAYS))
    if calendar.is_open(day):
        return when
    target = calendar.next_open_date(day)
    if target is None:
        log.warning("No open library day within %d days of %s; keeping it", MAX_SEARCH_DAYS, day)
        return when
    return same_time_on(when, target)


def open_days_between(session: Session, start: date, end: date) -> int:
    """Open library days d with start < d <= end (library dates)."""
    days = (end - start).days
    if days <= 0:
        return 0
    weekdays = closed_weekdays(session)
    full_weeks, rest = divmod(days, 7)
    closed = full_weeks * len(weekdays)
    closed += sum((start + timedelta(days=i)).isoweekday() in weekdays for i in range(1, rest + 1))
    # Closed dates on a closed weekday are already counted.
    dates = session.scalars(select(ClosedDate.date).where(ClosedDate.date > start, ClosedDate.date <= end))
    closed += sum(d.isoweekday() not in weekdays for d in dates)
    return days - closed
