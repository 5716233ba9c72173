"""Shared primitives: the marshmallow fields every resource uses, the id bound, and
the one lookup-or-404.

`Text` refuses what would otherwise be a 500 further down: NUL (PostgreSQL refuses
it) and lone surrogates (UTF-8 encoders in argon2 and psycopg refuse them).
`CleanString` is the same field, stripped and non-blank by default, for catalog text.
"""

from datetime import UTC, date, datetime
from typing import TypeVar

from marshmallow import fields, validate
from sqlalchemy.orm import Session

from api.errors import NotFound

# The largest id a database integer column holds: a larger one overflows SQLite's
# and PostgreSQL's integer binding (a 500) where it should simply not be found.
MAX_ID = 2**31 - 1

Row = TypeVar("Row")


def id_in_range(row_id: int) -> bool:
    return 0 < row_id <= MAX_ID


def get_or_404(session: Session, model: type[Row], row_id: int, *, detail: str = "Not found.") -> Row:
    """`session.get(model, row_id)`, or NotFound(detail) for a missing or impossible id."""
    row = session.get(model, row_id) if id_in_range(row_id) else None
    if row is None:
        raise NotFound(detail)
    return row


class Text(fields.String):
    """A string without NUL or lone surrogates.

    `strip` trims surrounding white space before the checks; `allow_blank=False`
    refuses what is empty after that; `max_length` bounds the length.
    """

    default_error_messages = {"bad_chars": "Contains characters that are not allowed.",
                              "blank": "Must not be blank."}

    def __init__(self, *, strip: bool = False, allow_blank: bool = True, max_length: int | None = None,
                 **kwargs):
        if not allow_blank:  # tell OpenAPI what _deserialize enforces
            kwargs["metadata"] = {"minLength": 1, **kwargs.get("metadata", {})}
        if max_length is not None:
            kwargs["validate"] = validate.Length(max=max_length)
        super().__init__(**kwargs)
        self.strip, self.allow_blank = strip, allow_blank

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if self.strip:
            value = value.strip()
        if "\x00" in value:
            raise self.make_error("bad_chars")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise self.make_error("bad_chars") from None
        if not value and not self.allow_blank:
            raise self.make_error("blank")
        return value


class CleanString(Text):
    """`Text`, stripped and (unless allow_blank) not blank, at most `max_length` long."""

    def __init__(self, *, max_length: int, allow_blank: bool = False, **kwargs):
        super().__init__(strip=True, allow_blank=allow_blank, max_length=max_length, **kwargs)


def Code(*, wildcard: bool = False, **kwargs) -> fields.String:  # noqa: N802  (reads like a field class)
    r"""A category or item-type code (SPEC); with `wildcard`, also `*` (any), as rules take.

    `\Z`, not `$`, ends the check: `$` also matches before a final newline, and
    "child\n" would be a code no rule names."""
    body = "([a-z0-9_-]{1,32}|\\*)" if wildcard else "[a-z0-9_-]{1,32}"
    error = "A code (a-z 0-9 _ -, 1-32 characters)" + (" or *." if wildcard else ".")
    kwargs["metadata"] = {"pattern": f"^{body}$", **kwargs.get("metadata", {})}
    return fields.String(validate=validate.Regexp(f"\\A{body}\\Z", error=error), **kwargs)


class StrictBoolean(fields.Boolean):
    """JSON true/false only: marshmallow's Boolean would also take 1, "yes" or "on"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def Id(*, strict: bool = True, **kwargs) -> fields.Integer:  # noqa: N802  (reads like a field class)
    """A positive database id; JSON bodies must send a number (strict), query strings
    are text. The upper bound keeps huge numbers from overflowing the database."""
    return fields.Integer(strict=strict, validate=validate.Range(1, MAX_ID), **kwargs)


# The times and days a request may name. Python's datetime ends at year 9999, so a
# valid ISO value near either end overflowed when it was converted to UTC, given a
# renewal's days or moved to the next open day (a 500); no loan, block or closed day
# of a library lies outside these years.
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2999, 12, 31)
_BOUNDS = f"from {EARLIEST_DAY.year} to {LATEST_DAY.year}"


class Time(fields.AwareDateTime):
    """An instant, returned in UTC: naive times are read as UTC (SPEC: times are UTC);
    years outside EARLIEST_DAY..LATEST_DAY are a 400. Whether it must lie in the
    future is checked in the domain, against api.clock, where "now" is known."""

    default_error_messages = {"out_of_range": f"Must be a time in the years {_BOUNDS}."}

    def __init__(self, **kwargs):
        super().__init__(default_timezone=UTC, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            in_utc = parsed.astimezone(UTC)
        except OverflowError:
            in_utc = None
        if in_utc is None or not EARLIEST_DAY <= in_utc.date() <= LATEST_DAY:
            raise self.make_error("out_of_range")
        return in_utc


class Day(fields.Date):
    """A calendar date in the years EARLIEST_DAY..LATEST_DAY (else a 400)."""

    default_error_messages = {"out_of_range": f"Must be a date in the years {_BOUNDS}."}

    def _deserialize(self, value, attr, data, **kwargs) -> date:
        day = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            raise self.make_error("out_of_range")
        return day
