"""Schemas for /users/.../account, one per direction."""

from marshmallow import Schema, ValidationError, fields, validate

from api.accounts.service import MAX_AMOUNT
from api.docs import doc_schema
from api.models import ACCOUNT_LINE_KINDS
from api.pagination import PageArgs, page_schema

NOTE_MAX = 500


def _printable(value: str) -> None:
    # PostgreSQL refuses NUL and UTF-8 encoders lone surrogates: a 400, never a 500.
    if "\x00" in value or not value.strip():
        raise ValidationError("Give some text, without NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("Contains characters that are not allowed.") from None


def Amount() -> fields.Integer:  # noqa: N802  (reads like a field class)
    return fields.Integer(strict=True, required=True, validate=validate.Range(1, MAX_AMOUNT),
                          metadata={"description": "Minor units of CURRENCY (150 = 1.50), positive."})


def Note(**kwargs) -> fields.String:  # noqa: N802
    return fields.String(validate=[validate.Length(min=1, max=NOTE_MAX), _printable], **kwargs)


@doc_schema
class AccountOut(Schema):
    currency = fields.String(metadata={"description": "ISO 4217 (CURRENCY).", "example": "USD"})
    balance = fields.Integer(metadata={"description": "What the member owes, in minor units; "
                                                      "negative would be a credit."})


@doc_schema
class AccountLineOut(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(ACCOUNT_LINE_KINDS)})
    amount = fields.Integer(metadata={"description": "Charges (overdue, manual) positive, "
                                                     "credits (payment, waiver) negative."})
    loan_id = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()
    created_by = fields.Integer(allow_none=True, metadata={"description": "The admin; null for "
                                                                          "the fines-accrual job."})


AccountLinesPage = page_schema(AccountLineOut)


@doc_schema
class AccountLinesQuery(PageArgs):
    pass


@doc_schema
class PaymentIn(Schema):
    amount = Amount()
    note = Note(metadata={"example": "cash at the desk"})


@doc_schema
class WaiverIn(Schema):
    amount = Amount()
    note = Note(required=True, metadata={"description": "Why it is forgiven (required)."})


@doc_schema
class ChargeIn(Schema):
    amount = Amount()
    note = Note(required=True, metadata={"description": "What it is for (required).",
                                         "example": "lost book"})
