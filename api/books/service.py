"""Catalog rules, callable without HTTP. Each function commits its own transaction.

Copies: a book's copies are its items (api.models.Item); `copies_total` and
`copies_available` are derived from them by api.circulation.items.recount in the
transaction that changes an item. Changing `copies` adds items or withdraws
available ones under the book's row lock, the lock every borrow and return takes,
so two admins (or an admin and a borrower) editing one book at once never lose a
change.
"""

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.audit.service import record
from api.books import search
from api.caching import mark_catalog_changed
from api.circulation.common import lock_book, refuse
from api.circulation.holds import promote_holds
from api.circulation.items import add_items, move_item
from api.clock import utcnow
from api.errors import Conflict
from api.fields import get_or_404
from api.models import GONE_STATES, Book, Item, Loan
from api.transaction import integrity_error_as

_SORTS = {
    "title": Book.title, "author": Book.author,
    "published_year": Book.published_year, "created_at": Book.created_at,
}
Fallback = tuple[Select, dict[str, Any]] | None


def get_book(session: Session, book_id: int) -> Book:
    return get_or_404(session, Book, book_id, detail="No such book.")


def search_stmt(session: Session, args: dict[str, Any]) -> Select:
    """The catalog query for GET /books: filters, q's words (stage 1 of api.books.search),
    then a total order (ties by id)."""
    stmt, relevance = _filtered(session, args), _by_relevance(args)
    if q := args.get("q"):
        groups = [[w] for w in search.words(q)]
        stmt = search.match_words(session, stmt, groups, relevance=relevance, isbn=search.whole_isbn(q))
    return _ordered(stmt, args, relevance)


def search_fallbacks(session: Session, args: dict[str, Any]) -> list[Callable[[], Fallback]]:
    """What GET /books tries, in order, when search_stmt finds nothing: q as a substring,
    then close spellings (api.books.search, stages 2 and 3)."""
    q = args.get("q")
    if not q:
        return []
    relevance = _by_relevance(args)

    def as_substring() -> Fallback:
        stmt = search.substring(session, _filtered(session, args), q)
        return None if stmt is None else (_ordered(stmt, args, False), {})

    def close_spellings() -> Fallback:
        terms = search.words(q)
        close = search.close_words(session, terms)
        if not close:
            return None
        groups = [[t, *close.get(t, [])] for t in terms]
        stmt = search.match_words(session, _filtered(session, args), groups, relevance=relevance)
        return _ordered(stmt, args, relevance), {"fuzzy": True}

    return [as_substring, close_spellings]


def _by_relevance(args: dict[str, Any]) -> bool:
    return bool(args.get("q")) and args.get("sort") in (None, "relevance")


def _filtered(session: Session, args: dict[str, Any]) -> Select:
    stmt = select(Book)
    if author := args.get("author"):
        stmt = stmt.where(search.contains_text(session, Book.author, author))
    if (available := args.get("available")) is not None:
        stmt = stmt.where(Book.copies_available > 0 if available else Book.copies_available == 0)
    return stmt


def _ordered(stmt: Select, args: dict[str, Any], relevance: bool) -> Select:
    sort = args.get("sort") or "title"
    if relevance or sort == "relevance":  # relevance without q: by title
        return stmt.order_by(Book.id.asc()) if relevance else stmt.order_by(Book.title, Book.id)
    column = _SORTS[sort.lstrip("-")]
    if sort.startswith("-"):
        return stmt.order_by(column.desc(), Book.id.desc())
    return stmt.order_by(column.asc(), Book.id.asc())


def create_book(session: Session, data: dict[str, Any], *, actor_id: int | None = None) -> Book:
    """Add a book and its `copies` items and commit, recorded as `book.created`."""
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
    items = add_items(session, book.id, copies, item_type=data.get("item_type") or "book")
    record(session, actor_id=actor_id, action="book.created", object_type="book", object_id=book.id,
           data={"isbn": book.isbn, "title": book.title, "added": [item.barcode for item in items]})
    mark_catalog_changed(session)
    _commit(session)
    session.refresh(book)
    return book


def update_book(session: Session, book_id: int, data: dict[str, Any], *, actor_id: int | None = None) -> Book:
    """Change any subset of the fields and commit, recorded in the audit log by
    `actor_id` in the same transaction: the fields as [before, after] (`book.updated`);
    `copies` adds or withdraws items (`book.copies_changed`)."""
    book = get_book(session, book_id)
    if "isbn" in data and data["isbn"] != book.isbn:
        _refuse_duplicate_isbn(session, data["isbn"])
    values: dict[str, Any] = {k: data[k] for k in
                              ("title", "author", "isbn", "published_year", "description")
                              if k in data}
    if diff := {k: [getattr(book, k), v] for k, v in values.items() if getattr(book, k) != v}:
        record(session, actor_id=actor_id, action="book.updated", object_type="book", object_id=book_id,
               data=diff)
    values["updated_at"] = utcnow()
    if "copies" in data:
        changed = _set_copies(session, book_id, data["copies"])
        if changed:
            record(session, actor_id=actor_id, action="book.copies_changed", object_type="book",
                   object_id=book_id, data={"copies": data["copies"], **changed})
    with integrity_error_as(session, _duplicate()):
        session.execute(update(Book).where(Book.id == book_id).values(**values)
                        .execution_options(synchronize_session=False))
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


def delete_book(session: Session, book_id: int, *, actor_id: int | None = None) -> None:
    """Delete a book with none of its copies on loan (its items go with it) and commit,
    recorded as `book.deleted`."""
    # Lock the book row first: every borrow locks it too, so no loan can be opened
    # between the check and the DELETE. (A single DELETE ... WHERE NOT EXISTS is not
    # enough on PostgreSQL: after waiting for a borrow it re-checks only the book row,
    # and the cascade would delete the loan just granted.)
    lock_book(session, book_id)
    on_loan = session.scalar(select(Loan.id).where(Loan.book_id == book_id, Loan.returned_at.is_(None))
                             .limit(1))
    if on_loan is not None:
        refuse(session, "has_active_loans", "Copies of this book are on loan; delete it once they "
               "are returned.")
    gone = session.execute(delete(Book).where(Book.id == book_id).returning(Book.isbn, Book.title)
                           .execution_options(synchronize_session=False)).one_or_none()
    if gone is not None:
        record(session, actor_id=actor_id, action="book.deleted", object_type="book", object_id=book_id,
               data={"isbn": gone.isbn, "title": gone.title})
    mark_catalog_changed(session)
    session.commit()


def _refuse_duplicate_isbn(session: Session, isbn: str) -> None:
    if session.scalar(select(Book.id).where(Book.isbn == isbn)) is not None:
        raise _duplicate()


def _duplicate() -> Conflict:
    return Conflict("A book with this ISBN is already in the catalog.",
                    errors={"isbn": ["Already in the catalog."]}, code="duplicate")


def _commit(session: Session) -> None:
    # Two admins adding the same ISBN at once: the unique index decides.
    with integrity_error_as(session, _duplicate()):
        session.commit()
