"""Items: the physical copies of a book. Reading a book's items is public (no
borrower shown); everything else is for admins and is recorded in the audit log."""

from flask import url_for
from marshmallow import INCLUDE, Schema

from api.auth import admin_required, current_user
from api.books.service import get_book
from api.extensions import db
from api.items import bp, service
from api.items.schemas import ItemAdminQuery, ItemIn, ItemOut, ItemPatch, ItemQuery
from api.pagination import paginate
from api.parsing import json_body, query_args


@bp.get("/books/<int:book_id>/items")
def list_book_items(book_id: int):
    """A book's items with their status and, while on loan, due date (public).
    ---
    tags: [items]
    parameters:
      - $ref: '#/components/parameters/Page'
      - $ref: '#/components/parameters/PerPage'
      - $ref: '#/components/parameters/After'
    x-response:
      200: ItemsPage
      description: A page of items, oldest first, with an RFC 8288 Link header.
      link: true
    x-errors: [400, 404]
    """
    args = query_args(ItemQuery())
    get_book(db.session, book_id)
    return paginate(service.items_stmt(book_id=book_id), ItemOut(), args)


@bp.post("/books/<int:book_id>/items")
@admin_required
def create_item(book_id: int):
    """Add an item (a physical copy) to a book (admin).
    ---
    tags: [items]
    security: [{bearerAuth: []}]
    description: >
      The new item goes to the first waiting hold on the book (on_hold_shelf), else
      on the shelf (available). A barcode already in use is a 409 with code `duplicate`.
    x-body: ItemIn
    x-response: {201: ItemOut, description: The new item., location: URL of the item.}
    x-errors: [403, 404, 409]
    """
    body = json_body(Schema(unknown=INCLUDE))  # 415/400 unless a JSON object
    get_book(db.session, book_id)  # then an unknown book is a 404 whatever the fields
    data = ItemIn().load(body)
    item = service.create_item(db.session, book_id, data, actor_id=current_user().id)
    return ItemOut().dump(item), 201, {"Location": url_for("items.get_item", item_id=item.id)}


@bp.get("/items")
@admin_required
def list_items():
    """Look an item up by its barcode (admin): a page of zero or one items.
    ---
    tags: [items]
    security: [{bearerAuth: []}]
    parameters:
      - {in: query, name: barcode, required: true, schema: {type: string, minLength: 1, maxLength: 32}}
      - $ref: '#/components/parameters/Page'
      - $ref: '#/components/parameters/PerPage'
      - $ref: '#/components/parameters/After'
    x-response:
      200: ItemsPage
      description: A page of items, oldest first, with an RFC 8288 Link header.
      link: true
    x-errors: [400, 403]
    """
    args = query_args(ItemAdminQuery())
    return paginate(service.items_stmt(barcode=args["barcode"]), ItemOut(), args)


@bp.get("/items/<int:item_id>")
@admin_required
def get_item(item_id: int):
    """One item (admin).
    ---
    tags: [items]
    security: [{bearerAuth: []}]
    x-response: {200: ItemOut, description: The item.}
    x-errors: [403, 404]
    """
    return ItemOut().dump(service.get_item(db.session, item_id))


@bp.patch("/items/<int:item_id>")
@admin_required
def update_item(item_id: int):
    """Change an item's barcode, type or status (admin).
    ---
    tags: [items]
    security: [{bearerAuth: []}]
    description: >
      `status` only to available, lost, damaged or withdrawn; 409 `item_in_use` while
      the item is on loan or on the hold shelf; 409 `duplicate` for a barcode in use.
      An item made available goes to the first waiting hold, else the shelf. Lost and
      withdrawn items leave copies_total.
    x-body: ItemPatch
    x-response: {200: ItemOut, description: The item.}
    x-errors: [403, 404, 409]
    """
    data = json_body(ItemPatch())
    return ItemOut().dump(service.update_item(db.session, item_id, data, actor_id=current_user().id))


@bp.delete("/items/<int:item_id>")
@admin_required
def delete_item(item_id: int):
    """Delete an item (admin); 409 `item_in_use` while on loan or on the hold shelf.
    ---
    tags: [items]
    security: [{bearerAuth: []}]
    responses:
      204: {description: Deleted.}
    x-errors: [403, 404, 409]
    """
    service.delete_item(db.session, item_id, actor_id=current_user().id)
    return "", 204
