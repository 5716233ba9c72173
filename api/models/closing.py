import datetime as dt

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from api.extensions import db


class ClosedWeekday(db.Model):
    """A weekday (ISO 1 = Monday .. 7 = Sunday) on which the library is closed every week."""

    __tablename__ = "closed_weekdays"
    __table_args__ = (CheckConstraint("weekday BETWEEN 1 AND 7", name="weekday_iso"),)

    weekday: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)


class ClosedDate(db.Model):
    """A library date (LIBRARY_TIMEZONE) on which the library is closed."""

    __tablename__ = "closed_dates"

    date: Mapped[dt.date] = mapped_column(primary_key=True)
    reason: Mapped[str | None] = mapped_column(String(200))
