from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, query_expression

from api.clock import utcnow
from api.extensions import db
from api.models.types import UTCDateTime

ITEM_STATES = ("available", "on_loan", "on_hold_shelf", "lost", "damaged", "withdrawn")
# States a member's loan or a ready hold puts an item in; staff cannot set them.
CIRCULATING_STATES = ("on_loan", "on_hold_shelf")
# Items the library no longer owns; they leave copies_total.
GONE_STATES = ("lost", "withdrawn")


class Item(db.Model):
    """One physical copy of a book. Its status changes only under the book's row lock
    (api.circulation.items), which also recounts the book's copies."""

    __tablename__ = "items"
    __table_args__ = (
        # Free copies of a book and the recount of books.copies_*.
        Index("ix_items_book_status", "book_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"))
    barcode: Mapped[str] = mapped_column(String(32), unique=True)
    item_type: Mapped[str] = mapped_column(String(32), default="book")
    status: Mapped[str] = mapped_column(String(16), default="available")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # The open loan's due date; loaded only where a query asks for it (see api.items).
    due_at: Mapped[datetime | None] = query_expression()

    def __repr__(self) -> str:
        return f"<Item {self.id} {self.barcode} {self.status}>"
