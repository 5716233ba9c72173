from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text, text
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
        # Every sort of GET /books with its id tie-break (migration 0006); the rare
        # available=false reads the partial index instead of filtering a sort index.
        Index("ix_books_title_id", "title", "id"),
        Index("ix_books_author_id", "author", "id"),
        Index("ix_books_published_year_id", "published_year", "id"),
        Index("ix_books_created_at_id", "created_at", "id"),
        Index("ix_books_none_available", "id", postgresql_where=text("copies_available = 0"),
              sqlite_where=text("copies_available = 0")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    author: Mapped[str] = mapped_column(String(200))
    # Normalised ISBN-13 (ISBN-10 input is converted), so both forms collide.
    isbn: Mapped[str] = mapped_column(String(13), unique=True)
    published_year: Mapped[int] = mapped_column()
    description: Mapped[str | None] = mapped_column(Text)
    # Both derived from the book's items (api.circulation.items.recount, in the
    # transaction of every item change) and kept as columns so the catalog can filter
    # and sort a million books on them: items not lost or withdrawn, and items on the
    # shelf (available).
    copies_total: Mapped[int] = mapped_column(default=1)
    copies_available: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Book {self.id} {self.title!r}>"
