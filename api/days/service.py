"""Open and closed library days.

Interface used by api.circulation (due dates, pickup deadlines) and the fines job.
Until the calendar tables land every day is open.
"""

from datetime import date, datetime

from sqlalchemy.orm import Session


def next_open(session: Session, when: datetime) -> datetime:
    """`when` if it falls on an open day (library time), else the same local time on the
    next open day. Aware UTC in, aware UTC out."""
    return when


def open_days_between(session: Session, start: date, end: date) -> int:
    """Open library days d with start < d <= end (library dates)."""
    return max((end - start).days, 0)
