"""Where a catalog import's copies and barcodes become items, one batch at a time.

A book the import creates gets an item for each new barcode its rows name, and
generated barcodes ("<book id>-<k>", the scheme of POST /books) up to its first row's
`copies`. A book that already existed gains items only for new barcodes: `copies`
never adds to it, so importing a file again changes nothing. A barcode already in
the catalog is skipped (a warning when it belongs to another book).

Set-based: one query for the known barcodes, one INSERT ... ON CONFLICT (barcode) DO
NOTHING for the new items (a concurrent import of the same barcode skips it, never
fails), one UPDATE recounting every touched book from its items. Existing books that
gain items are locked first (ids in order, like every circulation change of their
items), and waiting holds on them get the new copies (api.circulation.holds).
"""

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.circulation.holds import promote_holds
from api.circulation.items import add_items, recount_many
from api.models import Book, Hold, Item
from worker.tracking import insert_ignore


@dataclass
class BatchItems:
    """What one batch adds: items per ISBN, and the skipped barcodes as (ref, detail)."""

    given: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # isbn -> [(barcode, type)]
    generated: dict[str, int] = field(default_factory=dict)  # isbn -> how many
    types: dict[str, str] = field(default_factory=dict)  # isbn -> item type of generated copies
    skipped: int = 0
    warnings: list[tuple[int, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(map(len, self.given.values())) + sum(self.generated.values())

    def copies(self, isbn: str) -> int:
        """The copies a new book will have once its planned items exist."""
        return len(self.given.get(isbn, [])) + self.generated.get(isbn, 0)

    def not_created(self, isbns: set[str]) -> None:
        """These books turned out to exist (a concurrent import): no generated copies."""
        for isbn in isbns:
            self.generated.pop(isbn, None)


def plan_items(session: Session, rows: list[dict], *, new_isbns: set[str], books: dict[str, int],
               seen: set[str] | None) -> BatchItems:
    """The items a batch adds. `rows` are its clean records in file order (each with
    `isbn`, `ref`, `copies`, `items`), `new_isbns` the books it creates, `books`
    ISBN -> id of the existing ones, `seen` (dry run) the barcodes earlier batches
    would have added."""
    pairs = [(row, barcode, item_type) for row in rows for barcode, item_type in row["items"]]
    known = dict(session.execute(select(Item.barcode, Item.book_id)
                                 .where(Item.barcode.in_({barcode for _, barcode, _ in pairs}))).all())
    claimed: dict[str, str] = {}  # barcode -> the ISBN an earlier row of this batch gave it to
    plan = BatchItems()
    for row, barcode, item_type in pairs:
        if barcode in known or barcode in claimed or (seen is not None and barcode in seen):
            plan.skipped += 1
            if (barcode in known and known[barcode] != books.get(row["isbn"])) or \
                    claimed.get(barcode, row["isbn"]) != row["isbn"]:
                plan.warnings.append((row["ref"], f"Barcode {barcode} belongs to another book's item; "
                                                  "skipped."))
            continue
        claimed[barcode] = row["isbn"]
        plan.given.setdefault(row["isbn"], []).append((barcode, item_type))
    if seen is not None:
        seen.update(barcode for items in plan.given.values() for barcode, _ in items)
    first = {}
    for row in rows:
        first.setdefault(row["isbn"], row)
    for isbn in new_isbns:
        extra = first[isbn]["copies"] - len(plan.given.get(isbn, []))
        if extra > 0:
            plan.generated[isbn], plan.types[isbn] = extra, first[isbn]["item_type"]
    return plan


def write_items(session: Session, plan: BatchItems, books: dict[str, int], *, new_isbns: set[str]) -> int:
    """Create the planned items in this transaction; how many were created. New books
    were written with their planned copies; existing ones (and a new one that did not
    get every planned item) are recounted from their items."""
    existing = sorted({books[isbn] for isbn in plan.given if isbn not in new_isbns})
    if existing:
        session.execute(select(Book.id).where(Book.id.in_(existing)).order_by(Book.id)
                        .with_for_update(key_share=True))
    rows = [{"book_id": books[isbn], "barcode": barcode, "item_type": item_type, "status": "available"}
            for isbn, items in plan.given.items() for barcode, item_type in items]
    generated = {f"{books[isbn]}-{k}": isbn for isbn, n in plan.generated.items() for k in range(1, n + 1)}
    rows += [{"book_id": books[isbn], "barcode": barcode, "item_type": plan.types[isbn],
              "status": "available"} for barcode, isbn in generated.items()]
    inserted = insert_ignore(Item, rows, ["barcode"], returning=Item.barcode)
    created = len(inserted)
    owner = {row["barcode"]: row["book_id"] for row in rows}
    made = Counter(owner[barcode] for barcode in inserted)
    made_generated = Counter(generated[barcode] for barcode in inserted if barcode in generated)
    for isbn, n in plan.generated.items():  # a generated barcode someone had already used: rare
        if n > made_generated[isbn]:
            created += len(add_items(session, books[isbn], n - made_generated[isbn],
                                     item_type=plan.types[isbn]))
    # Existing books gained items; a new book short of a planned item (a barcode a
    # concurrent import took) is counted again from what it has.
    short = {books[isbn] for isbn in new_isbns if made[books[isbn]] < plan.copies(isbn)}
    touched = sorted(set(existing) | short)
    if touched:
        recount_many(session, touched)
    waiting = session.scalars(select(Hold.book_id).where(Hold.book_id.in_(existing), Hold.status == "waiting")
                              .distinct().order_by(Hold.book_id)).all()
    for book_id in waiting:
        promote_holds(session, book_id)
    return created
