"""The one place a circulation rule is resolved; nothing else reads the rule env vars.

Interface used by api.circulation (loans, renewals, holds), the fines job and the
borrow check. The (C,T) -> (C,*) -> (*,T) -> (*,*) lookup over the rules table lives
here; until that table lands the `*`/`*` values come from the environment.
"""

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy.orm import Session

RULE_VALUES = ("loan_days", "renewal_days", "max_renewals", "max_loans", "hold_pickup_days",
               "fine_per_day", "fine_grace_days", "max_fine", "max_balance")

# The `*`/`*` rule is seeded from these settings (SPEC "Configuration").
SEED_SETTINGS = {
    "loan_days": "LOAN_PERIOD_DAYS", "renewal_days": "LOAN_PERIOD_DAYS",
    "max_renewals": "MAX_RENEWALS", "max_loans": "MAX_ACTIVE_LOANS",
    "hold_pickup_days": "HOLD_PICKUP_DAYS", "fine_per_day": "FINE_PER_DAY",
    "fine_grace_days": "FINE_GRACE_DAYS", "max_fine": "MAX_FINE", "max_balance": "MAX_BALANCE",
}
SEED_DEFAULTS = {"FINE_PER_DAY": 0, "FINE_GRACE_DAYS": 0, "MAX_FINE": 1000, "MAX_BALANCE": 500}


@dataclass(frozen=True)
class EffectiveRule:
    loan_days: int
    renewal_days: int
    max_renewals: int
    max_loans: int
    hold_pickup_days: int
    fine_per_day: int
    fine_grace_days: int
    max_fine: int
    max_balance: int
    # value name -> id of the rule row it came from
    sources: dict[str, int | None] = field(default_factory=dict, compare=False)


def seed_values() -> dict[str, int]:
    """The `*`/`*` rule's values from the environment (used to seed the rules table)."""
    config = current_app.config
    return {name: int(config.get(key, SEED_DEFAULTS.get(key, 0))) for name, key in SEED_SETTINGS.items()}


def effective_rule(session: Session, *, patron_category: str, item_type: str) -> EffectiveRule:
    """Each value from the first of (C,T), (C,*), (*,T), (*,*) that sets it."""
    values = seed_values()
    return EffectiveRule(**values, sources=dict.fromkeys(values))


def type_loan_limit(session: Session, *, patron_category: str, item_type: str) -> int | None:
    """`max_loans` from a row naming `item_type` ((C,T) first, then (*,T)), or None: the
    member's open loans of items of that type are also limited by it."""
    return None
