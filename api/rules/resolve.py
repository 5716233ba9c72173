"""The one place a circulation rule is resolved; nothing else reads the rule env vars.

Interface used by api.circulation (loans, renewals, holds), the fines job and the
borrow check. Each value for (category C, item type T) comes from the first of the
rows (C,T), (C,*), (*,T), (*,*) that sets it; the ≤4 candidate rows are read in one
query, on every call, so a rule change applies to the very next action.

The `*`/`*` row always exists: the migration seeds it from the environment, create_all
(tests, bench) when it builds the table (default_rule_insert, run by api.models.rule), and
the API refuses to delete it or leave a value of it unset; so no lookup has to write.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask import current_app, has_app_context
from sqlalchemy import Insert, insert, select
from sqlalchemy.orm import Session

from api.models.rule import ANY, RULE_VALUES, CirculationRule

__all__ = ["RULE_VALUES", "SEED_SETTINGS", "SEED_DEFAULTS", "EffectiveRule", "seed_values",
           "effective_rule", "LoanLimits", "loan_limits", "default_rule_insert"]

# The `*`/`*` rule is seeded from these settings (SPEC "Configuration").
SEED_SETTINGS = {
    "loan_days": "LOAN_PERIOD_DAYS", "renewal_days": "LOAN_PERIOD_DAYS",
    "max_renewals": "MAX_RENEWALS", "max_loans": "MAX_ACTIVE_LOANS",
    "hold_pickup_days": "HOLD_PICKUP_DAYS", "fine_per_day": "FINE_PER_DAY",
    "fine_grace_days": "FINE_GRACE_DAYS", "max_fine": "MAX_FINE", "max_balance": "MAX_BALANCE",
}
SEED_DEFAULTS = {"LOAN_PERIOD_DAYS": 14, "MAX_RENEWALS": 2, "MAX_ACTIVE_LOANS": 5,
                 "HOLD_PICKUP_DAYS": 3, "FINE_PER_DAY": 0, "FINE_GRACE_DAYS": 0, "MAX_FINE": 1000,
                 "MAX_BALANCE": 500}


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


def seed_values(config: Mapping | None = None) -> dict[str, int]:
    """The `*`/`*` rule's values from the settings: the app's config by default, outside
    an app (create_all from bench) the environment, as the migration's seed."""
    if config is None:
        config = current_app.config if has_app_context() else os.environ
    return {name: int(config.get(key, SEED_DEFAULTS[key])) for name, key in SEED_SETTINGS.items()}


def default_rule_insert() -> Insert:
    """INSERT of the `*`/`*` row from seed_values(), for a table that has none: run when
    create_all builds it, and by the tests after they empty it."""
    return insert(CirculationRule.__table__).values(patron_category=ANY, item_type=ANY, **seed_values())


def _candidates(session: Session, patron_category: str, item_type: str) -> dict[tuple, CirculationRule]:
    stmt = select(CirculationRule).where(CirculationRule.patron_category.in_({patron_category, ANY}),
                                         CirculationRule.item_type.in_({item_type, ANY}))
    return {(r.patron_category, r.item_type): r for r in session.scalars(stmt)}


def effective_rule(session: Session, *, patron_category: str, item_type: str) -> EffectiveRule:
    """Each value from the first of (C,T), (C,*), (*,T), (*,*) that sets it."""
    rows = _candidates(session, patron_category, item_type)
    order = [rows[pair] for pair in ((patron_category, item_type), (patron_category, ANY),
                                     (ANY, item_type), (ANY, ANY)) if pair in rows]
    values, sources = {}, {}
    for name in RULE_VALUES:
        # The `*`/`*` row sets every value, so some row always answers.
        row = next(r for r in order if getattr(r, name) is not None)
        values[name], sources[name] = getattr(row, name), row.id
    return EffectiveRule(**values, sources=sources)


@dataclass(frozen=True)
class LoanLimits:
    """SPEC "Circulation rules": `max_loans` of (C,*) limits all open loans of a member
    (a row naming a type never raises or lowers it); one set on a row naming type T also
    limits their open loans of items of type T."""

    overall: int  # from (C,*), else (*,*)
    of_type: int | None  # from (C,T), else (*,T); None: no row naming T sets it


def loan_limits(session: Session, *, patron_category: str, item_type: str) -> LoanLimits:
    """The member's two loan limits for borrowing an item of `item_type` (one query)."""
    rows = _candidates(session, patron_category, item_type)

    def first(*pairs: tuple[str, str]) -> int | None:
        return next((rows[p].max_loans for p in pairs if p in rows and rows[p].max_loans is not None), None)

    of_type = None if item_type == ANY else first((patron_category, item_type), (ANY, item_type))
    return LoanLimits(overall=first((patron_category, ANY), (ANY, ANY)), of_type=of_type)
