"""Items inside circulation: the one place an item's status changes and the one
function that keeps books.copies_total / copies_available equal to what the items say.

Every caller holds the book's row lock (api.circulation.common.lock_book) while it
moves an item of that book, so the recount that follows sees every other committed
change to those items and no other transaction can change them before we commit.
"""

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.caching import mark_catalog_changed
from api.models import GONE_STATES, Book, Item


def recount(session: Session, book_id: int) -> None:
    """Set the book's copy counts from its items (does not commit).

    Counts one book's items over ix_items_book_status: a handful of index entries,
    so the derived columns stay cheap to keep exact."""
    recount_many(session, [book_id])


def recount_many(session: Session, book_ids: list[int]) -> None:
    """`recount` for many books in one statement (a catalog import's batch)."""
    total = (select(func.count()).select_from(Item)
             .where(Item.book_id == Book.id, Item.status.not_in(GONE_STATES)).scalar_subquery())
    available = (select(func.count()).select_from(Item)
                 .where(Item.book_id == Book.id, Item.status == "available").scalar_subquery())
    session.execute(update(Book).where(Book.id.in_(book_ids))
                    .values(copies_total=total, copies_available=available)
                    .execution_options(synchronize_session=False))
    mark_catalog_changed(session)


def move_item(session: Session, item_id: int, book_id: int, to: str, *, expect: tuple[str, ...]) -> bool:
    """Change the item's status from one of `expect` to `to` and recount its book;
    False (and nothing changed) if it was in another state. Does not commit."""
    done = session.execute(update(Item).where(Item.id == item_id, Item.status.in_(expect))
                           .values(status=to).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        return False
    recount(session, book_id)
    return True


def first_available(session: Session, book_id: int) -> Item | None:
    return session.scalar(select(Item).where(Item.book_id == book_id, Item.status == "available")
                          .order_by(Item.id).limit(1).execution_options(populate_existing=True))


def generated_barcodes(session: Session, book_id: int, n: int) -> list[str]:
    """`n` unused barcodes "<book id>-<k>" (k counting on from the book's items), the
    scheme the 0003 migration used for existing copies."""
    taken_count = session.scalar(select(func.count()).select_from(Item).where(Item.book_id == book_id))
    found: list[str] = []
    k = taken_count + 1
    while len(found) < n:
        candidates = [f"{book_id}-{i}" for i in range(k, k + n - len(found))]
        k += len(candidates)
        taken = set(session.scalars(select(Item.barcode).where(Item.barcode.in_(candidates))))
        found += [c for c in candidates if c not in taken]
    return found


def add_items(session: Session, book_id: int, n: int, *, item_type: str = "book",
              barcodes: list[str] | None = None) -> list[Item]:
    """Add `n` available items (generated barcodes unless given) and recount. Does not
    commit; the caller holds the book lock (or has just created the book)."""
    barcodes = barcodes or generated_barcodes(session, book_id, n)
    items = [Item(book_id=book_id, barcode=b, item_type=item_type, status="available") for b in barcodes]
    session.add_all(items)
    session.flush()
    recount(session, book_id)
    return items
