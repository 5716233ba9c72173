"""Schemas for /admin/rules, one per direction."""

from marshmallow import Schema, fields, validate

from api.docs import doc_schema
from api.fields import Code
from api.models.rule import RULE_VALUES
from api.pagination import PageArgs, page_schema

CODE_DESCRIPTION = "A code (a-z 0-9 _ -, 1-32 characters) or `*` for any."
MAX_COUNT = 10_000
MAX_MONEY = 10**9
# Bounds per value: due dates stay within a few years; money in minor units.
RANGES = {
    "loan_days": (1, 3650), "renewal_days": (1, 3650), "max_renewals": (0, MAX_COUNT),
    "max_loans": (0, MAX_COUNT), "hold_pickup_days": (1, 365), "fine_per_day": (0, MAX_MONEY),
    "fine_grace_days": (0, 3650), "max_fine": (0, MAX_MONEY), "max_balance": (0, MAX_MONEY),
}
DESCRIPTIONS = {
    "loan_days": "Days from borrowing to the due date.",
    "renewal_days": "Days a renewal adds to the current due date (then moved to the next open day).",
    "max_renewals": "Renewals allowed per loan.",
    "max_loans": "Open loans allowed: of any type on a (C,*) row, of type T on a row naming T.",
    "hold_pickup_days": "Days a ready hold keeps its item.",
    "fine_per_day": "Fine per open library day overdue, in minor units of CURRENCY.",
    "fine_grace_days": "Overdue open days without a fine.",
    "max_fine": "Largest fine for one loan, in minor units.",
    "max_balance": "Balance above which the member cannot borrow, renew or place holds.",
}


def code_field(**kw) -> fields.Field:
    return Code(wildcard=True, metadata={"description": CODE_DESCRIPTION, "example": "child"}, **kw)


def value_field(name: str) -> fields.Field:
    low, high = RANGES[name]
    return fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=low, max=high),
                          metadata={"description": DESCRIPTIONS[name] + " Null: inherit."})


@doc_schema
class RuleOut(Schema):
    id = fields.Integer()
    patron_category = fields.String(metadata={"example": "child"})
    item_type = fields.String(metadata={"example": "dvd"})
    loan_days = fields.Integer(allow_none=True)
    renewal_days = fields.Integer(allow_none=True)
    max_renewals = fields.Integer(allow_none=True)
    max_loans = fields.Integer(allow_none=True)
    hold_pickup_days = fields.Integer(allow_none=True)
    fine_per_day = fields.Integer(allow_none=True)
    fine_grace_days = fields.Integer(allow_none=True)
    max_fine = fields.Integer(allow_none=True)
    max_balance = fields.Integer(allow_none=True)


RulesPage = page_schema(RuleOut)

_values = {name: value_field(name) for name in RULE_VALUES}


@doc_schema
class RuleUpdateIn(Schema.from_dict(_values, name="RuleValues")):
    """Values only: the pair names the rule (delete it and create another to change it)."""


@doc_schema
class RuleCreateIn(RuleUpdateIn):
    patron_category = code_field(required=True)
    item_type = code_field(required=True)


@doc_schema
class RuleQuery(PageArgs):
    patron_category = code_field()
    item_type = code_field()


@doc_schema
class EffectiveQuery(Schema):
    patron_category = code_field(required=True)
    item_type = code_field(required=True)


@doc_schema
class EffectiveOut(Schema):
    patron_category = fields.String()
    item_type = fields.String()
    values = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "Each rule value that applies."})
    sources = fields.Dict(keys=fields.String(), values=fields.Integer(),
                          metadata={"description": "For each value, the id of the rule row it came from."})
