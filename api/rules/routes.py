"""/admin/rules: the circulation rules table and what it resolves to."""

from flask import url_for

from api.auth import admin_required, current_user
from api.extensions import db
from api.pagination import paginate
from api.parsing import json_body, query_args
from api.rules import bp, service
from api.rules.resolve import RULE_VALUES, effective_rule
from api.rules.schemas import (
    EffectiveOut,
    EffectiveQuery,
    RuleCreateIn,
    RuleOut,
    RuleQuery,
    RuleUpdateIn,
)


@bp.get("")
@admin_required
def list_rules():
    """The circulation rules, by id (the `*`/`*` rule always among them).
    ---
    tags: [rules]
    security: [{bearerAuth: []}]
    parameters:
      - {in: query, name: patron_category, schema: {type: string}, description: 'A code or *.'}
      - {in: query, name: item_type, schema: {type: string}, description: 'A code or *.'}
      - $ref: '#/components/parameters/Page'
      - $ref: '#/components/parameters/PerPage'
      - $ref: '#/components/parameters/After'
    x-response: {200: RulesPage, description: 'A page of rules, with an RFC 8288 Link header.', link: true}
    x-errors: [400, 403]
    """
    args = query_args(RuleQuery())
    filters = {k: args[k] for k in ("patron_category", "item_type") if k in args}
    return paginate(service.rules_stmt(**filters), RuleOut(), args)


@bp.post("")
@admin_required
def create_rule():
    """Add a rule for a (patron category, item type) pair.
    ---
    tags: [rules]
    security: [{bearerAuth: []}]
    description: >
      Values left out or null are inherited: each value for (C,T) comes from the first
      of (C,T), (C,*), (*,T), (*,*) that sets it. Applies to later loans, renewals and
      holds at once, never to existing due dates. 409 `duplicate` when the pair has a rule.
    x-body: RuleCreateIn
    x-response: {201: RuleOut, description: The new rule., location: URL of the rule.}
    x-errors: [403, 409]
    """
    data = json_body(RuleCreateIn())
    rule = service.create_rule(db.session, data, actor_id=current_user().id)
    return RuleOut().dump(rule), 201, {"Location": url_for("rules.get_rule", rule_id=rule.id)}


@bp.get("/effective")
@admin_required
def effective():
    """The values that apply to a patron category and item type, and where each came from.
    ---
    tags: [rules]
    security: [{bearerAuth: []}]
    parameters:
      - {in: query, name: patron_category, required: true, schema: {type: string},
         description: 'A code or *.'}
      - {in: query, name: item_type, required: true, schema: {type: string}, description: 'A code or *.'}
    x-response:
      200: EffectiveOut
      description: '`values` by name, and `sources`: the id of the rule row each came from.'
    x-errors: [400, 403]
    """
    args = query_args(EffectiveQuery())
    rule = effective_rule(db.session, **args)
    return EffectiveOut().dump({**args, "values": {name: getattr(rule, name) for name in RULE_VALUES},
                                "sources": rule.sources})


@bp.get("/<int:rule_id>")
@admin_required
def get_rule(rule_id: int):
    """One rule.
    ---
    tags: [rules]
    security: [{bearerAuth: []}]
    x-response: {200: RuleOut, description: The rule.}
    x-errors: [403, 404]
    """
    return RuleOut().dump(service.get_rule(db.session, rule_id))


@bp.patch("/<int:rule_id>")
@admin_required
def update_rule(rule_id: int):
    """Change a rule's values (null: inherit).
    ---
    tags: [rules]
    security: [{bearerAuth: []}]
    description: >
      Only values change; the pair names the rule. The `*`/`*` rule's values cannot be
      null (400). Later actions use the new values at once; existing due dates stay.
    x-body: RuleUpdateIn
    x-response: {200: RuleOut, description: The updated rule.}
    x-errors: [403, 404]
    """
    data = json_body(RuleUpdateIn())
    rule = service.update_rule(db.session, rule_id, data, actor_id=current_user().id)
    return RuleOut().dump(rule)


@bp.delete("/<int:rule_id>")
@admin_required
def delete_rule(rule_id: int):
    """Delete a rule; its pair then inherits every value.
    ---
    tags: [rules]
    security: [{bearerAuth: []}]
    description: The `*`/`*` rule cannot be deleted (409 `default_rule`).
    responses:
      204: {description: Deleted.}
    x-errors: [403, 404, 409]
    """
    service.delete_rule(db.session, rule_id, actor_id=current_user().id)
    return "", 204
