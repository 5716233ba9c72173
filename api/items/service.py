"""Items (physical copies) as staff manage them. Each function commits and records
the change in the audit log in the same transaction.

Every status change takes the book's row lock first, as circulation does, and goes
through api.circulation.items, so copies_total / copies_available never drift.
"""

from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, with_expression

from api.audit.service import record
from api.circulation.common import MAX_ID, lock_book, pass_copy_on, refuse
from api.circulation.holds import promote_holds
from api.circulation.items import add_items, move_item, recount
from api.clock import utcnow
from api.errors import NotFound
from api.models import CIRCULATING_STATES, Book, Item, Loan


def due_at_expr():
    """The open loan's due date (NULL unless on loan), in the same query as the items."""
    return (select(Loan.due_at).where(Loan.item_id == Item.id, Loan.returned_at.is_(None))
            .correlate(Item).limit(1).scalar_subquery())


def items_stmt(*, book_id: int | None = None, barcode: str | None = None) -> Select:
    stmt = (select(Item).options(with_expression(Item.due_at, due_at_expr()))
            .execution_options(populate_existing=True).order_by(Item.id))
    if book_id is not None:
        stmt = stmt.where(Item.book_id == book_id)
    if barcode is not None:
        stmt = stmt.where(Item.barcode == barcode)
    return stmt


def get_item(session: Session, item_id: int) -> Item:
    item = session.scalar(items_stmt().where(Item.id == item_id)) if 0 < item_id <= MAX_ID else None
    if item is None:
        raise NotFound("No such item.")
    return item


def _refuse_duplicate(session: Session, barcode: str) -> None:
    if session.scalar(select(Item.id).where(Item.barcode == barcode)) is not None:
        refuse(session, "duplicate", "An item with this barcode already exists.")


def _commit(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError:  # two admins giving one barcode at once: the unique index decides
        refuse(session, "duplicate", "An item with this barcode already exists.")


def create_item(session: Session, book_id: int, data: dict[str, Any], *, actor_id: int | None) -> Item:
    """Add an item to the book; it goes to the first waiting hold, else the shelf."""
    lock_book(session, book_id)
    _refuse_duplicate(session, data["barcode"])
    (item,) = add_items(session, book_id, 1, item_type=data.get("item_type") or "book",
                        barcodes=[data["barcode"]])
    promote_holds(session, book_id)
    record(session, actor_id=actor_id, action="item.created", object_type="item", object_id=item.id,
           data={"book_id": book_id, "barcode": item.barcode, "item_type": item.item_type})
    _commit(session)
    return get_item(session, item.id)


def _locked(session: Session, item_id: int) -> tuple[Item, Book]:
    """The item, read again under its book's row lock."""
    item = get_item(session, item_id)
    book = lock_book(session, item.book_id)
    return get_item(session, item_id), book


def update_item(session: Session, item_id: int, data: dict[str, Any], *, actor_id: int | None) -> Item:
    """Change barcode, type or status. Status goes only to available, lost, damaged or
    withdrawn, and not while the item is on loan or kept for a hold (409 item_in_use);
    an item made available goes to the first waiting hold, else the shelf."""
    item, book = _locked(session, item_id)
    changes = {k: [getattr(item, k), v] for k, v in data.items() if getattr(item, k) != v}
    if "status" in changes:
        if item.status in CIRCULATING_STATES:
            refuse(session, "item_in_use", f"This item is {item.status.replace('_', ' ')}; "
                                           "check it in or cancel the hold first.")
        if data["status"] == "available":
            hold = pass_copy_on(session, book, item, utcnow(), expect=(item.status,))
            if hold is not None:  # the audit says where it went: to the first waiting hold
                changes["status"][1], changes["hold_id"] = "on_hold_shelf", [None, hold.id]
        else:
            move_item(session, item.id, book.id, data["status"], expect=(item.status,))
    if "barcode" in changes:
        _refuse_duplicate(session, data["barcode"])
    item.barcode = data.get("barcode", item.barcode)
    item.item_type = data.get("item_type", item.item_type)
    if changes:
        record(session, actor_id=actor_id, action="item.updated", object_type="item", object_id=item.id,
               data={"book_id": item.book_id, "changes": changes})
    _commit(session)
    return get_item(session, item_id)


def delete_item(session: Session, item_id: int, *, actor_id: int | None) -> None:
    """Remove an item (409 item_in_use while on loan or kept for a hold); its past
    loans keep their record without it."""
    item, _book = _locked(session, item_id)
    if item.status in CIRCULATING_STATES:
        refuse(session, "item_in_use", f"This item is {item.status.replace('_', ' ')}; it cannot be deleted.")
    session.execute(delete(Item).where(Item.id == item.id).execution_options(synchronize_session=False))
    recount(session, item.book_id)
    record(session, actor_id=actor_id, action="item.deleted", object_type="item", object_id=item_id,
           data={"book_id": item.book_id, "barcode": item.barcode, "status": item.status})
    session.commit()
