"""Managing circulation rules (admin). Each change commits with its audit entry, in one
transaction."""

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.audit.service import record
from api.auth import MAX_ID
from api.errors import BadRequest, Conflict, NotFound
from api.models.rule import CirculationRule


def rules_stmt(*, patron_category: str | None = None, item_type: str | None = None) -> Select:
    stmt = select(CirculationRule).order_by(CirculationRule.id)
    if patron_category is not None:
        stmt = stmt.where(CirculationRule.patron_category == patron_category)
    if item_type is not None:
        stmt = stmt.where(CirculationRule.item_type == item_type)
    return stmt


def get_rule(session: Session, rule_id: int) -> CirculationRule:
    rule = session.get(CirculationRule, rule_id) if 0 < rule_id < MAX_ID else None
    if rule is None:
        raise NotFound("No such rule.")
    return rule


def create_rule(session: Session, data: dict[str, Any], *, actor_id: int) -> CirculationRule:
    pair = (data["patron_category"], data["item_type"])
    if session.scalar(select(CirculationRule.id).where(CirculationRule.patron_category == pair[0],
                                                       CirculationRule.item_type == pair[1])):
        raise _duplicate(pair)
    rule = CirculationRule(**data)
    session.add(rule)
    try:
        # The unique pair settles two admins creating the same rule at once.
        session.flush()
    except IntegrityError:
        session.rollback()
        raise _duplicate(pair) from None
    record(session, actor_id=actor_id, action="rule.created", object_type="rule", object_id=rule.id,
           data={"patron_category": rule.patron_category, "item_type": rule.item_type,
                 **{k: v for k, v in rule.values().items() if v is not None}})
    session.commit()
    return rule


def update_rule(session: Session, rule_id: int, changes: dict[str, Any], *,
                actor_id: int) -> CirculationRule:
    rule = get_rule(session, rule_id)
    if rule.is_default:
        unset = sorted(k for k, v in changes.items() if v is None)
        if unset:
            raise BadRequest("The */* rule sets every value; it cannot inherit.",
                             errors={name: ["Cannot be null on the */* rule."] for name in unset})
    diff = {k: [getattr(rule, k), v] for k, v in changes.items() if getattr(rule, k) != v}
    for name, (_old, new) in diff.items():
        setattr(rule, name, new)
    if diff:
        record(session, actor_id=actor_id, action="rule.updated", object_type="rule",
               object_id=rule.id, data=diff)
    session.commit()
    return rule


def delete_rule(session: Session, rule_id: int, *, actor_id: int) -> None:
    rule = get_rule(session, rule_id)
    if rule.is_default:
        raise Conflict("The */* rule always exists; change its values instead.", code="default_rule")
    record(session, actor_id=actor_id, action="rule.deleted", object_type="rule", object_id=rule.id,
           data={"patron_category": rule.patron_category, "item_type": rule.item_type,
                 **{k: v for k, v in rule.values().items() if v is not None}})
    session.delete(rule)
    session.commit()


def _duplicate(pair: tuple[str, str]) -> Conflict:
    return Conflict(f"A rule for {pair[0]}/{pair[1]} already exists; change it instead.",
                    code="duplicate")
