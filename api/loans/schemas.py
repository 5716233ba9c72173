"""Schemas for /loans, one per direction.

Property-level authorization is done by schema choice: a member's POST /loans is
loaded with LoanIn, which has no `user_id` or `due_at`, so sending them is a 400
("Unknown field."), never silently ignored. Admins' bodies use LoanAdminIn.
"""

from datetime import UTC

from marshmallow import Schema, fields, validate

from api.circulation.common import MAX_ID
from api.docs import doc_schema
from api.pagination import PageArgs, page_schema

LOAN_STATUSES = ("active", "overdue", "returned")


def Id(*, strict: bool = True, **kwargs) -> fields.Integer:  # noqa: N802  (reads like a field class)
    """A positive database id; JSON bodies must send a number (strict), query strings
    are text. The upper bound keeps huge numbers from overflowing the database."""
    return fields.Integer(strict=strict, validate=validate.Range(1, MAX_ID), **kwargs)


def DueAt(**kwargs) -> fields.AwareDateTime:  # noqa: N802
    # Naive times are read as UTC (SPEC: times are UTC); "in the future" is checked
    # against api.clock in the domain, where "now" is known.
    return fields.AwareDateTime(default_timezone=UTC, **kwargs)


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
