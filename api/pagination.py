"""Paginated list responses: {"items", "meta"} plus an RFC 8288 Link header."""

import json
import math
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from flask import current_app, jsonify, request, url_for
from marshmallow import Schema, fields, validate
from sqlalchemy import Select, Table, func, literal_column, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement

from api.docs import doc_schema
from api.dumping import dump_rows
from api.extensions import db

MAX_PER_PAGE = 100
# Beyond this a page number is nonsense; refusing it keeps OFFSET within bigint.
MAX_PAGE = 1_000_000
EXACT_UP_TO = 10_000  # SPEC: meta.total is exact up to this many matches
DEFERRED_FROM = 1_000  # offsets from here on are read by deferred join (page_stmt)
ESTIMATE_SECONDS = 60  # how long a row estimate is reused (_for_a_while)


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
    total = fields.Integer(metadata={"description": "Items on all pages; an estimate when "
                                                    "total_exact is false (above 10,000)."})
    pages = fields.Integer()
    total_exact = fields.Boolean(metadata={"description": "false: total (and pages) are an estimate."})
    fuzzy = fields.Boolean(metadata={"description": "GET /books only: true when nothing matched q "
                                                    "and these are close spellings."})


def page_schema(item_schema: type[Schema]) -> type[Schema]:
    """The documented list envelope for `item_schema` (BookOut -> BooksPage)."""
    name = item_schema.__name__.removesuffix("Out") + "sPage"
    return doc_schema(Schema.from_dict(
        {"items": fields.List(fields.Nested(item_schema)), "meta": fields.Nested(PageMeta)}, name=name))


def paginate(stmt: Select, schema: Schema, args: dict[str, Any], *,
             fallbacks: Iterable[Callable[[], tuple[Select, dict] | None]] = (),
             meta: dict[str, Any] | None = None, deferred: bool = False):
    """Run `stmt` one page at a time and build the list response. When `stmt` matches
    nothing, each of `fallbacks` is asked in turn for another statement (and the meta
    keys that say so); the first that matches something is used. `deferred`: every
    page by deferred join (page_stmt)."""
    page = args["page"]
    per_page = min(args["per_page"], MAX_PER_PAGE)
    extra = dict(meta or {})
    items, total, exact = page_and_total(db.session, stmt, page, per_page, deferred=deferred)
    if total == 0:
        for fallback in fallbacks:
            if (found := fallback()) is None:
                continue
            other, other_meta = found
            other_items, other_total, other_exact = page_and_total(db.session, other, page, per_page,
                                                                   deferred=deferred)
            if other_total:
                items, total, exact = other_items, other_total, other_exact
                extra.update(other_meta)
                break
    pages = math.ceil(total / per_page) if total else 0
    response = jsonify({
        "items": dump_rows(schema, items),
        "meta": {"page": page, "per_page": per_page, "total": total, "pages": pages,
                 "total_exact": exact, **extra},
    })
    response.headers["Link"] = link_header(page, per_page, pages)
    return response


def page_and_total(session: Session, stmt: Select, page: int, per_page: int, *,
                   deferred: bool = False) -> tuple[list, int, bool]:
    """This page's rows and (total, exact). A page with rows but fewer than per_page
    (or an empty first page) is the last one, so its total is known without a count:
    most searches fit on one page and cost one statement, not two."""
    items = session.scalars(page_stmt(stmt, page, per_page, deferred=deferred)).all()
    if 0 < len(items) < per_page or (page == 1 and not items):
        return items, (page - 1) * per_page + len(items), True
    return items, *count(session, stmt)


def count(session: Session, stmt: Select) -> tuple[int, bool]:
    """(total, exact): exact up to EXACT_UP_TO matches, counted with a LIMIT so a
    million matches cost no more than EXACT_UP_TO + 1; above that the planner's
    estimate (PostgreSQL). SQLite has no estimate, and counts above that exactly
    (an embedded catalog is small enough; README "Totals")."""
    stmt = stmt.order_by(None)
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres and (rows := _table_rows(session, stmt)) is not None and rows > 2 * EXACT_UP_TO:
        return rows, False
    stmt = _rows_only(stmt)
    bounded = session.scalar(select(func.count()).select_from(stmt.limit(EXACT_UP_TO + 1).subquery()))
    if bounded <= EXACT_UP_TO:
        return bounded, True
    if not postgres:
        return session.scalar(select(func.count()).select_from(stmt.subquery())), True
    return max(_planned_rows(session, stmt), bounded), False


def _planned_rows(session: Session, stmt: Select) -> int:
    """The planner's row estimate for `stmt`, asked at most once per ESTIMATE_SECONDS
    per process for the same statement and values: it moves only with the table's
    statistics. Times are left out of the key (overdue's `now` changes every call;
    a minute-old estimate of it is as good)."""
    cache_key = stmt._generate_cache_key()  # None: a statement SQLAlchemy cannot cache
    key = cache_key and (cache_key.key, tuple(p.effective_value for p in cache_key.bindparams
                                              if not isinstance(p.effective_value, datetime)))

    def planned() -> int:
        plan = session.execute(Explain(stmt)).scalar()
        return int((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"])

    return _for_a_while("plan_rows", key, planned)


def _for_a_while(store: str, key, compute: Callable[[], Any]) -> Any:
    """compute(), reused for ESTIMATE_SECONDS per process under `key` in `store` (a key
    of None: not reused); at most 1,000 keys a store (distinct searches)."""
    known = current_app.extensions.setdefault(store, {})
    now = time.monotonic()
    if key is not None and (hit := known.get(key)) is not None and hit[0] > now:
        return hit[1]
    value = compute()
    if key is not None:
        if len(known) >= 1_000:
            known.clear()
        known[key] = (now + ESTIMATE_SECONDS, value)
    return value


def _rows_only(stmt: Select) -> Select:
    """`stmt` selecting a constant instead of its columns, for counting: the counted
    subquery carries no columns to compile, plan or drop (a loan's barcode subquery),
    as hand-written `SELECT 1 ... LIMIT 10001` would."""
    if stmt._distinct or stmt._group_by_clauses:
        return stmt  # its rows are made of its columns
    return stmt.with_only_columns(literal_column("1"), maintain_column_froms=True)


def _table_rows(session: Session, stmt: Select) -> int | None:
    """The planner's row count of the table an unfiltered list reads (None if filtered
    or joined), read at most once per ESTIMATE_SECONDS per process: it moves only when
    (auto)vacuum or ANALYZE runs, so reading it on every request bought nothing but a
    round trip. Not get_final_froms(): it compiles the statement, ~2.5 ms a request."""
    if stmt.whereclause is not None or stmt._setup_joins or stmt._from_obj:
        return None
    froms = stmt.columns_clause_froms
    if len(froms) != 1 or not isinstance(froms[0], Table):
        return None
    name = froms[0].name

    def reltuples() -> int | None:
        rows = session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"),
                              {"t": name})
        return int(rows) if rows is not None and rows >= 0 else None

    return _for_a_while("table_rows", name, reltuples)


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


class Explain(Executable, ClauseElement):
    """`EXPLAIN (FORMAT JSON) <stmt>` on PostgreSQL, with the statement's own binds."""

    inherit_cache = False

    def __init__(self, stmt: Select):
        self.stmt = stmt


@compiles(Explain, "postgresql")
def _explain(element: Explain, compiler, **kw) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.stmt, **kw)


def link_header(page: int, per_page: int, pages: int) -> str:
    last = max(pages, 1)
    rels = {"first": 1, "last": last}
    if page > 1:
        rels["prev"] = min(page - 1, last)
    if page < pages:
        rels["next"] = page + 1
    args = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}
    # One URL built, the page and size appended as url_for would (last, in this order).
    url = url_for(request.endpoint, **(request.view_args or {}), **args, _external=True)
    url += "&" if "?" in url else "?"
    return ", ".join(f'<{url}page={number}&per_page={per_page}>; rel="{rel}"'
                     for rel, number in rels.items())
