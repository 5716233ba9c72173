"""Schemas for the calendar: /admin/calendar and the public /calendar."""

from datetime import timedelta

from marshmallow import Schema, ValidationError, fields, post_load, validate

from api.days.service import library_today
from api.docs import doc_schema
from api.fields import CleanString, Day

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30


class Weekday(fields.Integer):
    def __init__(self, **kw):
        super().__init__(strict=True, validate=validate.Range(min=1, max=7),
                         metadata={"description": "ISO weekday: 1 Monday .. 7 Sunday."}, **kw)


class WeekdayList(fields.List):
    """Weekdays, with one flat message for a bad item (problem+json errors are lists of
    strings, not marshmallow's per-index dicts)."""

    def __init__(self, **kw):
        super().__init__(Weekday(), **kw)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError as e:
            if isinstance(e.messages, dict):
                raise ValidationError("Each must be an integer from 1 (Monday) to 7 (Sunday).") from None
            raise


@doc_schema
class ClosedDateOut(Schema):
    date = fields.Date()
    reason = fields.String(allow_none=True)


@doc_schema
class CalendarOut(Schema):
    timezone = fields.String(metadata={"description": "LIBRARY_TIMEZONE: the zone of the library's days."})
    closed_weekdays = fields.List(Weekday())
    closed_dates = fields.List(fields.Nested(ClosedDateOut))


@doc_schema
class WeekdaysIn(Schema):
    closed_weekdays = WeekdayList(required=True, validate=validate.Length(max=7),
                                  metadata={"description": "Every weekday closed each week; [] for none."})


@doc_schema
class ClosedDateIn(Schema):
    date = Day(required=True, metadata={"description": "A library date (LIBRARY_TIMEZONE)."})
    reason = CleanString(max_length=200, load_default=None, allow_none=True,
                         metadata={"example": "Public holiday"})


@doc_schema
class ClosedDateCreatedOut(ClosedDateOut):
    task_id = fields.String(allow_none=True, metadata={
        "description": "The calendar-reschedule run moving the loans due that day; null when none were."})
    status_url = fields.String(allow_none=True)


@doc_schema
class CalendarQuery(Schema):
    from_ = Day(data_key="from", metadata={"description": "First day; default today (library time)."})
    to = Day(metadata={"description": f"Last day; default {DEFAULT_RANGE_DAYS - 1} days after "
                                              f"`from`; at most {MAX_RANGE_DAYS} days in all."})

    @post_load
    def _range(self, data, **_kwargs):
        first = data.get("from_") or library_today()
        last = data.get("to") or first + timedelta(days=DEFAULT_RANGE_DAYS - 1)
        if last < first:
            raise ValidationError("Must not be before `from`.", "to")
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise ValidationError(f"At most {MAX_RANGE_DAYS} days from `from`.", "to")
        return {"first": first, "last": last}


@doc_schema
class DayOut(Schema):
    date = fields.Date()
    open = fields.Boolean()
    reason = fields.String(allow_none=True, metadata={
        "description": "Why a closed date is closed; null for open days and closed weekdays."})


@doc_schema
class DaysOut(Schema):
    timezone = fields.String()
    days = fields.List(fields.Nested(DayOut))
