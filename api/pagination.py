"""Paginated list responses: {"items", "meta"} plus an RFC 8288 Link header."""

import math
from typing import Any

from flask import jsonify, request, url_for
from marshmallow import Schema, fields, validate
from sqlalchemy import Select, func, select

from api.docs import doc_schema
from api.extensions import db

MAX_PER_PAGE = 100
# Beyond this a page number is nonsense; refusing it keeps OFFSET within bigint.
MAX_PAGE = 1_000_000


class PageArgs(Schema):
    """Query arguments every list accepts; resources extend it with their filters."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE),
                          metadata={"description": "Page number, from 1."})
    # Larger values are capped at MAX_PER_PAGE rather than refused (SPEC: "capped").
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1),
                              metadata={"description": "Items per page, 1-100 (larger values are capped)."})


@doc_schema
class PageMeta(Schema):
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer(metadata={"description": "Items on all pages."})
    pages = fields.Integer()


def page_schema(item_schema: type[Schema]) -> type[Schema]:
    """The documented list envelope for `item_schema` (BookOut -> BooksPage)."""
    name = item_schema.__name__.removesuffix("Out") + "sPage"
    return doc_schema(Schema.from_dict(
        {"items": fields.List(fields.Nested(item_schema)), "meta": fields.Nested(PageMeta)}, name=name))


def paginate(stmt: Select, schema: Schema, args: dict[str, Any]):
    """Run `stmt` one page at a time and build the list response."""
    page = args["page"]
    per_page = min(args["per_page"], MAX_PER_PAGE)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    pages = math.ceil(total / per_page) if total else 0
    response = jsonify({
        "items": schema.dump(items, many=True),
        "meta": {"page": page, "per_page": per_page, "total": total, "pages": pages},
    })
    response.headers["Link"] = link_header(page, per_page, pages)
    return response


def link_header(page: int, per_page: int, pages: int) -> str:
    last = max(pages, 1)
    rels = {"first": 1, "last": last}
    if page > 1:
        rels["prev"] = min(page - 1, last)
    if page < pages:
        rels["next"] = page + 1
    args = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}
    links = []
    for rel, number in rels.items():
        url = url_for(request.endpoint, **(request.view_args or {}), **args,
                      page=number, per_page=per_page, _external=True)
        links.append(f'<{url}>; rel="{rel}"')
    return ", ".join(links)
