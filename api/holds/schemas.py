"""Schemas for /holds, one per direction."""

from marshmallow import Schema, fields, validate

from api.docs import doc_schema
from api.fields import Day
from api.loans.schemas import Id
from api.models import HOLD_STATES
from api.pagination import PageArgs, page_schema


@doc_schema
class HoldIn(Schema):
    book_id = Id(required=True)


@doc_schema
class HoldOut(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    book_id = fields.Integer()
    status = fields.String(metadata={"enum": list(HOLD_STATES)})
    position = fields.Integer(allow_none=True, metadata={
        "description": "1-based place in the queue while waiting; null otherwise."})
    created_at = fields.DateTime()
    ready_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True, metadata={
        "description": "While ready: the copy is kept for you until then."})
    suspended_until = fields.Date(allow_none=True, metadata={
        "description": "A library date (LIBRARY_TIMEZONE): the waiting hold is passed over through the day "
                       "before and waits again from the start of this day; null when not suspended."})


@doc_schema
class HoldPatch(Schema):
    suspended_until = Day(required=True, allow_none=True, metadata={
        "description": "Suspend until this library date (today or later; today resumes at once), "
                       "or null to resume now."})


HoldsPage = page_schema(HoldOut)


@doc_schema
class HoldQuery(PageArgs):
    status = fields.String(validate=validate.OneOf(HOLD_STATES))
    book_id = Id(strict=False)


@doc_schema
class HoldAdminQuery(HoldQuery):
    user_id = Id(strict=False)
