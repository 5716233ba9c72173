"""Schemas for /loans, one per direction.

Property-level authorization is done by schema choice: a member's POST /loans is
loaded with LoanIn, which has no `user_id` or `due_at`, so sending them is a 400
("Unknown field."), never silently ignored. Admins' bodies use LoanAdminIn.
"""

from marshmallow import Schema, fields, validate

from api.docs import doc_schema
from api.fields import DueAt, Id  # noqa: F401  (Id re-exported: holds.schemas imports it from here)
from api.pagination import PageArgs, page_schema

LOAN_STATUSES = ("active", "overdue", "returned")


@doc_schema
class LoanIn(Schema):
    """A member borrows for themselves."""

    book_id = Id(required=True)


@doc_schema
class LoanAdminIn(LoanIn):
    """An admin may lend to another member and choose the due date."""

    user_id = Id(metadata={"description": "Borrower (default: the admin)."})
    due_at = DueAt(metadata={"description": "Must be in the future (default: now + LOAN_PERIOD_DAYS)."})


@doc_schema
class LoanPatch(Schema):
    due_at = DueAt(required=True, metadata={"description": "New due date, in the future."})


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


LoansPage = page_schema(LoanOut)


@doc_schema
class LoanQuery(PageArgs):
    status = fields.String(validate=validate.OneOf(LOAN_STATUSES))
    book_id = Id(strict=False)


@doc_schema
class LoanAdminQuery(LoanQuery):
    user_id = Id(strict=False)
