"""Schemas for items (physical copies) and the desk's check-in answer."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.books.schemas import ItemType
from api.docs import doc_schema
from api.holds.schemas import HoldOut
from api.loans.schemas import Barcode, LoanOut
from api.models import ITEM_STATES
from api.pagination import PageArgs, page_schema

# Staff set these; on_loan / on_hold_shelf come only from circulation.
SETTABLE_STATES = ("available", "lost", "damaged", "withdrawn")


@doc_schema
class ItemIn(Schema):
    barcode = Barcode(required=True)
    item_type = ItemType(load_default="book")


@doc_schema
class ItemPatch(Schema):
    barcode = Barcode()
    item_type = ItemType()
    status = fields.String(validate=validate.OneOf(SETTABLE_STATES))

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("Give at least one field to change.")


@doc_schema
class ItemOut(Schema):
    id = fields.Integer()
    book_id = fields.Integer()
    barcode = fields.String()
    item_type = fields.String()
    status = fields.String(metadata={"enum": list(ITEM_STATES)})
    due_at = fields.DateTime(allow_none=True, metadata={
        "description": "While on loan; no borrower is shown."})


ItemsPage = page_schema(ItemOut)


@doc_schema
class ItemQuery(PageArgs):
    """GET /books/<id>/items."""


@doc_schema
class ItemAdminQuery(PageArgs):
    # Required: the list is a lookup, never a scan of every item in the library.
    barcode = Barcode(required=True, metadata={"description": "Exact barcode."})


@doc_schema
class CheckinOut(Schema):
    loan = fields.Nested(LoanOut)
    item = fields.Nested(ItemOut, metadata={"description": "Its new status: available or on_hold_shelf."})
    hold = fields.Nested(HoldOut, allow_none=True, metadata={
        "description": "The hold the item is now kept for, or null (back on the shelf)."})
