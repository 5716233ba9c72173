"""Each job's parameters: one schema per job name (unknown or invalid fields: 400).

A job without an entry takes no parameters. The validated values are stored on the
run as JSON (`params`), so a retry runs with exactly the same ones.
"""

from datetime import UTC, date, datetime, time, timedelta

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.docs import doc_schema
from api.fields import Day, Time

# GET /loans' statuses, and `open`: every loan not returned (active and overdue).
LOAN_EXPORT_STATUSES = ("open", "active", "overdue", "returned")


class NoParams(Schema):
    """A job that takes no parameters: only `{}` (or no body) is accepted."""


@doc_schema
class ExportLoansParams(Schema):
    status = fields.String(validate=validate.OneOf(LOAN_EXPORT_STATUSES),
                           metadata={"description": "active, overdue or returned, as GET /loans; "
                                                    "open: not returned (active and overdue)"})
    borrowed_from = Day(metadata={"description": "borrowed on or after this day (UTC)"})
    borrowed_to = Day(metadata={"description": "borrowed on or before this day (UTC)"})

    @validates_schema
    def _order(self, data, **_kwargs):
        if "borrowed_from" in data and "borrowed_to" in data and data["borrowed_from"] > data["borrowed_to"]:
            raise ValidationError("Must not be before borrowed_from.", "borrowed_to")


class DayOrTime(fields.Field):
    """A day (`YYYY-MM-DD`, UTC) or an ISO datetime (naive = UTC, kept in UTC), in the
    years api.fields allows (a bound near year 9999 overflowed day_or_time_bounds);
    dumped as ISO text."""

    _day, _time = Day(), Time()

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and len(value) == 10:
            return self._day.deserialize(value).isoformat()
        if isinstance(value, str):
            return self._time.deserialize(value).isoformat()
        raise ValidationError("Must be a date (YYYY-MM-DD) or an ISO 8601 datetime.")


def day_or_time_bounds(value: str) -> tuple[datetime, datetime]:
    """[start, end) of a stored DayOrTime: a whole UTC day, or one instant."""
    if len(value) == 10:
        start = datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
        return start, start + timedelta(days=1)
    instant = datetime.fromisoformat(value)
    return instant, instant + timedelta(microseconds=1)


@doc_schema
class ExportAccountLinesParams(Schema):
    from_ = DayOrTime(data_key="from", metadata={
        "type": "string", "description": "created on or after this day (UTC) or instant"})
    to = DayOrTime(metadata={"type": "string",
                             "description": "created on or before this day (UTC, inclusive) or instant"})

    @validates_schema
    def _order(self, data, **_kwargs):
        if "from_" in data and "to" in data and \
                day_or_time_bounds(data["from_"])[0] >= day_or_time_bounds(data["to"])[1]:
            raise ValidationError("Must not be before from.", "to")


@doc_schema
class CatalogImportParams(Schema):
    """Set by POST /admin/imports, never by a client of /admin/tasks."""

    format = fields.String(required=True, validate=validate.OneOf(("csv", "marc", "marcxml")))
    dry_run = fields.Boolean(required=True)
    file_id = fields.Integer(required=True)
    filename = fields.String(required=True)


PARAMS: dict[str, type[Schema]] = {
    "export-loans": ExportLoansParams,
    "export-account-lines": ExportAccountLinesParams,
    "catalog-import": CatalogImportParams,
}
# Jobs started only through their own endpoint (they need an upload).
NOT_STARTABLE = {"catalog-import": "POST /admin/imports"}


def params_schema(name: str) -> Schema:
    """The job's schema: `dump(load(body))` is what the run stores (dates as ISO strings)."""
    return PARAMS.get(name, NoParams)()
