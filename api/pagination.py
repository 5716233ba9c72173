"""Paginated list responses: {"items", "meta"} plus an RFC 8288 Link header.

A list is read by page number (`page`) or, when its order allows, by keyset cursor
(`after`, api.cursors); its total comes from api.totals."""

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import jsonify, request, url_for
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import Select
from sqlalchemy.orm import Session

from api import cursors
from api.docs import doc_schema
from api.dumping import columns_only, dump_rows
from api.extensions import db
from api.totals import count

MAX_PER_PAGE = 100
# Beyond this a page number is nonsense; refusing it keeps OFFSET within bigint.
MAX_PAGE = 1_000_000
DEFERRED_FROM = 1_000  # offsets from here on are read by deferred join (page_stmt)
Source = Callable[[], tuple[Select, dict[str, Any]] | None]


class PageArgs(Schema):
    """Query arguments every list accepts; resources extend it with their filters."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE),
                          metadata={"description": "Page number, from 1."})
    # Larger values are capped at MAX_PER_PAGE rather than refused (SPEC: "capped").
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1),
                              metadata={"description": "Items per page, 1-100 (larger values are capped)."})
    after = fields.String(validate=validate.Length(max=2048), metadata={"description": (
        "Read by cursor instead of page: empty for the first page, then each page's "
        "meta.next_cursor; any depth costs an index seek. Not for a search by relevance.")})

    @validates_schema(pass_original=True)
    def _page_or_cursor(self, data, original, **kwargs):
        if "after" in data and "page" in original:
            raise ValidationError("Give page or after, not both.", "after")


@doc_schema
class PageMeta(Schema):
    page = fields.Integer(allow_none=True, metadata={"description": "null for a page read by cursor."})
    per_page = fields.Integer()
    total = fields.Integer(metadata={"description": "Items on all pages; an estimate when "
                                                    "total_exact is false (above 10,000)."})
    pages = fields.Integer()
    total_exact = fields.Boolean(metadata={"description": "false: total (and pages) are an estimate."})
    fuzzy = fields.Boolean(metadata={"description": "GET /books only: true when nothing matched q "
                                                    "and these are close spellings."})
    next_cursor = fields.String(allow_none=True, metadata={"description": (
        "Pages read by cursor (`after`) only: give it as `after` for the next page; null on "
        "the last. `page` is then null.")})


def page_schema(item_schema: type[Schema]) -> type[Schema]:
    """The documented list envelope for `item_schema` (BookOut -> BooksPage)."""
    name = item_schema.__name__.removesuffix("Out") + "sPage"
    return doc_schema(Schema.from_dict(
        {"items": fields.List(fields.Nested(item_schema)), "meta": fields.Nested(PageMeta)}, name=name))


@dataclass(frozen=True)
class Read:
    """A page read from one of a list's statements."""

    meta: dict[str, Any]
    items: Sequence[Any]
    total: int
    exact: bool
    next_cursor: str | None = None  # read by cursor: where the next page starts (None: last page)


def paginate(stmt: Select, schema: Schema, args: dict[str, Any], *,
             fallbacks: Iterable[Source] = (), meta: dict[str, Any] | None = None,
             deferred: bool = False):
    """Run `stmt` one page at a time and build the list response. When `stmt` matches
    nothing, each of `fallbacks` is asked in turn for another statement (and the meta
    keys that say so); the first that matches something is used. `deferred`: every
    page by deferred join (page_stmt)."""
    per_page = min(args["per_page"], MAX_PER_PAGE)
    sources = [lambda: (stmt, {}), *fallbacks]
    cursor = args.get("after")
    if cursor is None:
        read = _numbered(sources, args["page"], per_page, deferred, schema)
    else:
        read = _after(sources, cursor, per_page, deferred, schema)
    pages = math.ceil(read.total / per_page) if read.total else 0
    page = args["page"] if cursor is None else None
    body_meta = {"page": page, "per_page": per_page, "total": read.total, "pages": pages,
                 "total_exact": read.exact, **(meta or {}), **read.meta}
    if cursor is not None:  # read by cursor (a page read by number stays as v1 had it)
        body_meta["next_cursor"] = read.next_cursor
    response = jsonify({"items": dump_rows(schema, read.items), "meta": body_meta})
    response.headers["Link"] = (link_header(page, per_page, pages) if cursor is None
                                else cursor_links(per_page, read.next_cursor))
    return response


def _numbered(sources: list[Source], page: int, per_page: int, deferred: bool, schema: Schema) -> Read:
    read = None
    for source in sources:
        if (found := source()) is None:
            continue
        stmt, meta = found
        items, total, exact = page_and_total(db.session, stmt, page, per_page, deferred=deferred,
                                             schema=schema)
        if read is None or total:
            read = Read(meta, items, total, exact)
        if total:
            break
    return read


def _after(sources: list[Source], cursor: str, per_page: int, deferred: bool, schema: Schema) -> Read:
    """The page after a cursor's row, from the statement that gave the cursor; an empty
    cursor starts at the first row (of the first statement that matches, as by page)."""
    position, order = None, ""
    candidates = range(len(sources))
    if cursor:
        order, position = cursors.decode(cursor)
        if position.source >= len(sources):
            raise cursors.bad_cursor()
        candidates = [position.source]
    read = None
    for index in candidates:
        if (found := sources[index]()) is None:
            continue
        stmt, meta = found
        if (keys := cursors.keyset(stmt, request.endpoint)) is None:
            raise cursors.bad_cursor("This list cannot be read by cursor (a search by relevance): use page.")
        rest = cursors.after(stmt, keys, order, position)
        rows = fetch_page(db.session, page_stmt(rest, 1, per_page + 1, deferred=deferred), schema)
        if read is None or rows:
            whole = position is None and len(rows) <= per_page  # from the start: no count needed
            total = (len(rows), True) if whole else count(db.session, stmt)
            # per_page + 1 rows read: the extra one says a next page exists.
            next_cursor = cursors.encode(keys, index, rows[per_page - 1]) if len(rows) > per_page else None
            read = Read(meta, rows[:per_page], *total, next_cursor)
        if rows:
            break
    if read is None:  # the cursor's statement finds nothing now (its data changed)
        read = Read({}, [], 0, True)
    return read


def page_and_total(session: Session, stmt: Select, page: int, per_page: int, *,
                   deferred: bool = False, schema: Schema | None = None) -> tuple[Sequence, int, bool]:
    """This page's rows (fetch_page) and (total, exact). A page with rows but fewer than
    per_page (or an empty first page) is the last one, so its total is known without a
    count: most searches fit on one page and cost one statement, not two."""
    items = fetch_page(session, page_stmt(stmt, page, per_page, deferred=deferred), schema)
    if 0 < len(items) < per_page or (page == 1 and not items):
        return items, (page - 1) * per_page + len(items), True
    return items, *count(session, stmt)


def fetch_page(session: Session, stmt: Select, schema: Schema | None = None) -> Sequence:
    """A page statement's items for dumping with `schema`: plain rows when the schema
    reads only the entity's table columns (building ORM objects only to drop them cost
    ~0.1 ms a page of 20, bench/findings.md), else the entities. A list is a GET: the
    session has nothing pending that a query would flush first."""
    if schema is not None and columns_only(schema, stmt.column_descriptions[0]["entity"]):
        return session.connection().execute(stmt).all()
    return session.scalars(stmt).all()


def page_stmt(stmt: Select, page: int, per_page: int, *, deferred: bool = False) -> Select:
    """One page of `stmt`. Deep pages are a deferred join: the OFFSET walks only the
    ids (an index-only scan of the sort index), then just this page's rows are read.
    `deferred` asks for it on every page: for a filter that an index covers but most
    rows in its order fail (open loans that are not overdue), so they are skipped in
    the index instead of read from the table."""
    offset = (page - 1) * per_page
    if offset < DEFERRED_FROM and not deferred:
        return stmt.limit(per_page).offset(offset)
    key = stmt.column_descriptions[0]["entity"].id
    ids = (stmt.with_only_columns(key, maintain_column_froms=True)
           .limit(per_page).offset(offset).subquery("page_ids"))
    return stmt.join(ids, ids.c.id == key)


def cursor_links(per_page: int, next_cursor: str | None) -> str:
    """A cursor page's links: the first page and the next, if any (both by cursor)."""
    url = _url_without("page", "per_page", "after")
    links = [f'<{url}after=&per_page={per_page}>; rel="first"']
    if next_cursor is not None:
        links.append(f'<{url}after={next_cursor}&per_page={per_page}>; rel="next"')
    return ", ".join(links)


def _url_without(*names: str) -> str:
    """This request's URL without `names` in its query, ready for one more argument."""
    args = {k: v for k, v in request.args.items() if k not in names}
    url = url_for(request.endpoint, **(request.view_args or {}), **args, _external=True)
    return url + ("&" if "?" in url else "?")


def link_header(page: int, per_page: int, pages: int) -> str:
    last = max(pages, 1)
    rels = {"first": 1, "last": last}
    if page > 1:
        rels["prev"] = min(page - 1, last)
    if page < pages:
        rels["next"] = page + 1
    # One URL built, the page and size appended as url_for would (last, in this order).
    url = _url_without("page", "per_page")
    return ", ".join(f'<{url}page={number}&per_page={per_page}>; rel="{rel}"'
                     for rel, number in rels.items())
