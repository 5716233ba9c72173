"""The catalog: public, cached reads; admin-only writes."""

from flask import jsonify, url_for

from api.auth import admin_required, current_user
from api.books import bp, service
from api.books.schemas import BookIn, BookOut, BookPatch, BookQuery
from api.caching import cached_catalog_read
from api.extensions import db
from api.pagination import paginate
from api.parsing import json_body, query_args
from api.ratelimit_plan import first_trip_counts_limits
from api.transaction import read_only

# The catalog list is the hottest route; a marshmallow schema deep-copies its fields
# per instance (~0.15 ms), and load() and dump() keep no state between calls, so one
# instance of each serves all.
BOOK_QUERY = BookQuery()
BOOK_OUT = BookOut()


@bp.get("")
@first_trip_counts_limits
def list_books():
    """Search the catalog (public, cached).
    ---
    tags: [books]
    x-query-schema: BookQuery
    parameters:
      - in: query
        name: q
        description: >
          Words, any order and case, each in the title, author or ISBN; the last also as a
          prefix. An ISBN-10/13 with or without hyphens. See README "Search".
      - {in: query, name: author, description: Substring of the author (case-insensitive).}
      - {in: query, name: available, description: "true: a copy is free now; false: none is."}
      - in: query
        name: sort
        description: Order; ties are broken by id. Default relevance with q, else title.
      - {in: header, name: If-None-Match, schema: {type: string}, description: ETag of a copy you hold.}
    responses:
      200:
        description: A page of books, with an RFC 8288 Link header (by cursor only first and next).
        headers:
          Link: {schema: {type: string}}
          ETag: {schema: {type: string}}
          Cache-Control: {schema: {type: string}, description: "public, no-cache"}
        content:
          application/json:
            schema: {$ref: '#/components/schemas/BooksPage'}
      304: {description: Not modified (your If-None-Match still matches).}
    x-errors: [400]
    """
    # The cache is asked before the query string is loaded: only 200s are stored, so
    # a hit's query string (the key holds every pair) was valid when it was stored.
    return cached_catalog_read(_search_page)


def _search_page():
    args = query_args(BOOK_QUERY)
    read_only(db.session)
    return paginate(service.search_stmt(db.session, args), BOOK_OUT, args,
                    fallbacks=service.search_fallbacks(db.session, args), meta={"fuzzy": False})


@bp.get("/<int:book_id>")
@first_trip_counts_limits
def get_book(book_id: int):
    """One book, with copies_total and copies_available (public, cached).
    ---
    tags: [books]
    parameters:
      - {in: header, name: If-None-Match, schema: {type: string}, description: ETag of a copy you hold.}
    responses:
      200:
        description: The book.
        headers:
          ETag: {schema: {type: string}}
          Cache-Control: {schema: {type: string}, description: "public, no-cache"}
        content:
          application/json:
            schema: {$ref: '#/components/schemas/BookOut'}
      304: {description: Not modified (your If-None-Match still matches).}
    x-errors: [404]
    """
    return cached_catalog_read(lambda: jsonify(BOOK_OUT.dump(service.get_book(db.session, book_id))))


@bp.post("")
@admin_required
def create_book():
    """Add a book to the catalog (admin).
    ---
    tags: [books]
    security: [{bearerAuth: []}]
    description: >
      ISBN-10 or ISBN-13 with a valid check digit; stored as ISBN-13, so the ISBN-10
      and ISBN-13 of one book are duplicates (409).
    x-body: BookIn
    x-response: {201: BookOut, description: The new book., location: URL of the book.}
    x-errors: [403, 409]
    """
    book = service.create_book(db.session, json_body(BookIn()), actor_id=current_user().id)
    return BookOut().dump(book), 201, {"Location": url_for("books.get_book", book_id=book.id)}


@bp.patch("/<int:book_id>")
@admin_required
def update_book(book_id: int):
    """Change a book (admin); any subset of the fields.
    ---
    tags: [books]
    security: [{bearerAuth: []}]
    description: >
      `copies` sets the number of items owned: new items get generated barcodes
      and go to waiting holds first; lowering it withdraws items on the shelf, and
      is a 409 (`items_in_use`) when too few are there (on loan, kept for ready
      holds or damaged). Recorded in the audit log. A duplicate ISBN is a 409
      (`duplicate`).
    x-body: BookPatch
    x-response: {200: BookOut, description: The updated book.}
    x-errors: [403, 404, 409]
    """
    data = json_body(BookPatch())
    return BookOut().dump(service.update_book(db.session, book_id, data, actor_id=current_user().id))


@bp.delete("/<int:book_id>")
@admin_required
def delete_book(book_id: int):
    """Remove a book and its loan and hold history (admin).
    ---
    tags: [books]
    security: [{bearerAuth: []}]
    responses:
      204: {description: Deleted.}
    x-errors: [403, 404, 409]
    """
    service.delete_book(db.session, book_id, actor_id=current_user().id)
    return "", 204
