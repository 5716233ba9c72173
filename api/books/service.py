"""Catalog rules, callable without HTTP. Each function commits its own transaction.

Copies: a book's copies are its items (api.models.Item); `copies_total` and
`copies_available` are derived from them by api.circulation.items.recount in the
transaction that changes an item. Changing `copies` adds items or withdraws
available ones under the book's row lock, the lock every borrow and return takes,
so two admins (or an admin and a borrower) editing one book at once never lose a
change.
"""

from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.audit.service import record
from api.books.isbn import normalise_isbn
from api.caching import mark_catalog_changed
from api.circulation.common import lock_book, refuse
from api.circulation.holds import promote_holds
from api.circulation.items import add_items, move_item
from api.clock import utcnow
from api.errors import Conflict, NotFound
from api.models import GONE_STATES, Book, Item, Loan

MAX_ID = 2**31  # larger ids overflow SQLite/PostgreSQL integer binding

_SORTS = {
    "title": Book.title, "author": Book.author,
    "published_year": Book.published_year, "created_at": Book.created_at,
}
_ISBN_CHARS = set("0123456789-Xx ")


def get_book(session: Session, book_id: int) -> Book:
    book = session.get(Book, book_id) if 0 < book_id < MAX_ID else None
    if book is None:
        raise NotFound("No such book.")
    return book


def search_stmt(args: dict[str, Any]) -> Select:
    """The catalog query for GET /books: filters, then a total order (ties by id)."""
    stmt = select(Book)
    if q := args.get("q"):
        matches = [Book.title.icontains(q, autoescape=True),
                   Book.author.icontains(q, autoescape=True)]
        if set(q) <= _ISBN_CHARS:
            try:
                matches.append(Book.isbn == normalise_isbn(q))
            except ValueError:
                digits = "".join(c for c in q if c.isdigit())
                if len(digits) >= 4:  # part of an ISBN as printed on the book
                    matches.append(Book.isbn.contains(digits, autoescape=True))
        stmt = stmt.where(or_(*matches))
    if author := args.get("author"):
        stmt = stmt.where(Book.author.icontains(author, autoescape=True))
    if (available := args.get("available")) is not None:
        stmt = stmt.where(Book.copies_available > 0 if available else Book.copies_available == 0)
    sort = args.get("sort", "title")
    column = _SORTS[sort.lstrip("-")]
    if sort.startswith("-"):
        return stmt.order_by(column.desc(), Book.id.desc())
    return stmt.order_by(column.asc(), Book.id.asc())


def create_book(session: Session, data: dict[str, Any]) -> Book:
    copies = data["copies"]
    book = Book(title=data["title"], author=data["author"], isbn=data["isbn"],
                published_year=data["published_year"], description=data.get("description"),
                copies_total=0, copies_available=0)
    _refuse_duplicate_isbn(session, data["isbn"])
    session.add(book)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise _duplicate() from None
    add_items(session, book.id, copies, item_type=data.get("item_type") or "book")
    mark_catalog_changed(session)
    _commit(session)
    session.refresh(book)
    return book


def update_book(session: Session, book_id: int, data: dict[str, Any], *, actor_id: int | None = None) -> Book:
    """Change any subset of the fields; `copies` adds or withdraws items, recorded in
    the audit log (`book.copies_changed`, by `actor_id`) in the same transaction."""
    book = get_book(session, book_id)
    if "isbn" in data and data["isbn"] != book.isbn:
        _refuse_duplicate_isbn(session, data["isbn"])
    values: dict[str, Any] = {k: data[k] for k in
                              ("title", "author", "isbn", "published_year", "description")
                              if k in data}
    values["updated_at"] = utcnow()
    if "copies" in data:
        changed = _set_copies(session, book_id, data["copies"])
        if changed:
            record(session, actor_id=actor_id, action="book.copies_changed", object_type="book",
                   object_id=book_id, data={"copies": data["copies"], **changed})
    try:
        session.execute(update(Book).where(Book.id == book_id).values(**values)
                        .execution_options(synchronize_session=False))
    except IntegrityError:
        session.rollback()
        raise _duplicate() from None
    mark_catalog_changed(session)
    _commit(session)
    session.expire_all()
    return get_book(session, book_id)


def _set_copies(session: Session, book_id: int, total: int) -> dict[str, list[str]]:
    """Add items (generated barcodes, the type of the book's newest item) or withdraw
    available ones until `total` items are owned; 409 when too few are on the shelf.
    Returns the barcodes added or withdrawn ({} if none). Does not commit."""
    lock_book(session, book_id)
    owned = session.scalar(select(func.count()).select_from(Item)
                           .where(Item.book_id == book_id, Item.status.not_in(GONE_STATES)))
    if total > owned:
        item_type = session.scalar(select(Item.item_type).where(Item.book_id == book_id)
                                   .order_by(Item.id.desc()).limit(1)) or "book"
        added = add_items(session, book_id, total - owned, item_type=item_type)
        promote_holds(session, book_id)  # new copies go to the hold queue first
        return {"added": [item.barcode for item in added]}
    elif total < owned:
        # Newest first: the oldest copies are usually the ones with a history.
        shelf = session.scalars(select(Item.id).where(Item.book_id == book_id, Item.status == "available")
                                .order_by(Item.id.desc()).limit(owned - total)).all()
        if len(shelf) < owned - total:
            refuse(session, "items_in_use", "Cannot lower copies below those on loan, kept for ready holds "
                                            "or damaged: not enough items are on the shelf.")
        for item_id in shelf:
            move_item(session, item_id, book_id, "withdrawn", expect=("available",))
        return {"withdrawn": list(session.scalars(select(Item.barcode).where(Item.id.in_(shelf))
                                                  .order_by(Item.id)))}
    return {}


def delete_book(session: Session, book_id: int) -> None:
    # Lock the book row first: every borrow locks it too, so no loan can be opened
    # between the check and the DELETE. (A single DELETE ... WHERE NOT EXISTS is not
    # enough on PostgreSQL: after waiting for a borrow it re-checks only the book row,
    # and the cascade would delete the loan just granted.)
    lock_book(session, book_id)
    on_loan = session.scalar(select(Loan.id).where(Loan.book_id == book_id, Loan.returned_at.is_(None))
                             .limit(1))
    if on_loan is not None:
        refuse(session, "items_in_use", "Copies of this book are on loan; delete it once they are returned.")
    session.execute(delete(Book).where(Book.id == book_id).execution_options(synchronize_session=False))
    mark_catalog_changed(session)
    session.commit()


def _refuse_duplicate_isbn(session: Session, isbn: str) -> None:
    if session.scalar(select(Book.id).where(Book.isbn == isbn)) is not None:
        raise _duplicate()


def _duplicate() -> Conflict:
    return Conflict("A book with this ISBN is already in the catalog.", code="duplicate",
                    errors={"isbn": ["Already in the catalog."]})


def _commit(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError:
        # Two admins adding the same ISBN at once: the unique index decides.
        session.rollback()
        raise _duplicate() from None
