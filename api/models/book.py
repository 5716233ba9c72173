from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.clock import utcnow
from api.extensions import db
from api.models.types import UTCDateTime


class Book(db.Model):
    __tablename__ = "books"
    __table_args__ = (
        # Backstops for the conditional UPDATEs in api/circulation: a race can never
        # drive the shelf count below zero or above the number of copies owned.
        CheckConstraint("copies_available >= 0", name="available_not_negative"),
        CheckConstraint("copies_available <= copies_total", name="available_le_total"),
        CheckConstraint("copies_total >= 0", name="total_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300), index=True)
    author: Mapped[str] = mapped_column(String(200), index=True)
    # Normalised ISBN-13 (ISBN-10 input is converted), so both forms collide.
    isbn: Mapped[str] = mapped_column(String(13), unique=True)
    published_year: Mapped[int] = mapped_column(index=True)
    description: Mapped[str | None] = mapped_column(Text)
    # Both derived from the book's items (api.circulation.items.recount, in the
    # transaction of every item change) and kept as columns so the catalog can filter
    # and sort a million books on them: items not lost or withdrawn, and items on the
    # shelf (available).
    copies_total: Mapped[int] = mapped_column(default=1)
    copies_available: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Book {self.id} {self.title!r}>"
