"""Schemas for /loans, one per direction.

Property-level authorization is done by schema choice: a member's POST /loans is
loaded with LoanIn, which has no `user_id`, `due_at`, `borrowed_at` or
`override_reason`, so sending them is a 400 ("Unknown field."), never silently
ignored. Admins' bodies use LoanAdminIn (and RenewAdminIn to renew).
"""

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from api.docs import doc_schema
from api.fields import CleanString, Id, Time  # noqa: F401  (Id re-exported: holds.schemas imports it from here)
from api.pagination import PageArgs, page_schema

LOAN_STATUSES = ("active", "overdue", "returned")


def Barcode(**kwargs) -> fields.String:  # noqa: N802  (reads like a field class)
    return CleanString(max_length=32, **kwargs)


def OverrideReason() -> fields.String:  # noqa: N802  (reads like a field class)
    return CleanString(max_length=500, metadata={"description": (
        "Admins: lend or renew despite loan_limit, has_overdue, balance_limit, patron_blocked, "
        "renewal_limit and reserved_for_other (never other refusals); non-blank. Recorded in the "
        "audit log as loan.override with the codes it lifted.")})


@doc_schema
class LoanIn(Schema):
    """A member borrows for themselves: `book_id` (any free copy) or `barcode` (that
    item, e.g. at a self-service kiosk) -- exactly one of them."""

    book_id = Id()
    barcode = Barcode(metadata={"description": "The item's barcode, instead of book_id."})

    @validates_schema
    def _one_of(self, data, **kwargs):
        if ("book_id" in data) == ("barcode" in data):
            raise ValidationError("Give book_id or barcode, not both.", "book_id")


@doc_schema
class LoanAdminIn(LoanIn):
    """An admin may lend to another member, choose the due date, record a loan made
    while offline (both times in the past, due_at after borrowed_at), and override
    some refusals with a reason."""

    user_id = Id(metadata={"description": "Borrower (default: the admin)."})
    due_at = Time(metadata={"description": "After borrowed_at, the past allowed (default: borrowed_at + "
                                            "the rule's loan_days, moved to an open day)."})
    borrowed_at = Time(metadata={"description": "Not in the future (default: now)."})
    override_reason = OverrideReason()


@doc_schema
class RenewIn(Schema):
    """A member renews their own loan. v1 read no body here, so other fields are ignored
    as they were; only `override_reason`, which no v1 client sends, is a 400: a member
    asking to override should hear that they cannot."""

    class Meta:
        unknown = EXCLUDE

    @validates_schema(pass_original=True)
    def _no_override(self, data, original, **kwargs):
        if isinstance(original, dict) and "override_reason" in original:
            raise ValidationError("Unknown field.", "override_reason")


@doc_schema
class RenewAdminIn(Schema):
    class Meta:
        unknown = EXCLUDE  # as v1, which read no body here

    override_reason = OverrideReason()


@doc_schema
class LoanPatch(Schema):
    due_at = Time(required=True, metadata={
        "description": "New due date: any time after borrowed_at, the past included."})


@doc_schema
class CheckinIn(Schema):
    barcode = Barcode(required=True)
    returned_at = Time(metadata={"description": "When it came back (default: now); not in the future, "
                                                 "not before borrowed_at."})


@doc_schema
class LoanOut(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    book_id = fields.Integer()
    borrowed_at = fields.DateTime()
    due_at = fields.DateTime()
    returned_at = fields.DateTime(allow_none=True)
    renewals = fields.Integer()
    status = fields.String(metadata={"enum": list(LOAN_STATUSES)})
    item_id = fields.Integer(allow_none=True)
    barcode = fields.String(allow_none=True)


LoansPage = page_schema(LoanOut)


@doc_schema
class LoanQuery(PageArgs):
    status = fields.String(validate=validate.OneOf(LOAN_STATUSES))
    book_id = Id(strict=False)


@doc_schema
class LoanAdminQuery(LoanQuery):
    user_id = Id(strict=False)


@doc_schema
class LoanCheckQuery(Schema):
    """GET /loans/check: a book (any free copy) or one item by barcode; admins may ask
    for another member."""

    book_id = Id(strict=False)
    barcode = Barcode()
    user_id = Id(strict=False, metadata={"description": "The member (admins only; default: the caller)."})

    @validates_schema
    def _one_of(self, data, **kwargs):
        if ("book_id" in data) == ("barcode" in data):
            raise ValidationError("Give book_id or barcode, not both.", "book_id")


@doc_schema
class BlockerOut(Schema):
    code = fields.String(metadata={"description": "The code the borrow would be refused with."})
    detail = fields.String()
    overridable = fields.Boolean(metadata={"description": "An admin's override_reason lifts it."})


@doc_schema
class LoanCheckOut(Schema):
    allowed = fields.Boolean()
    blockers = fields.List(fields.Nested(BlockerOut))
    due_at = fields.DateTime(metadata={"description": "The due date a loan made now would get."})
