from datetime import datetime

from sqlalchemy import ColumnElement, ForeignKey, Index, and_, select, text
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from api.clock import utcnow
from api.extensions import db
from api.models.item import Item
from api.models.types import UTCDateTime


class Loan(db.Model):
    __tablename__ = "loans"
    __table_args__ = (
        # One open loan per member and book: the database refuses the duplicate even
        # if two requests race past the check in api/circulation.
        Index(
            "uq_loans_open_user_book",
            "user_id",
            "book_id",
            unique=True,
            postgresql_where=text("returned_at IS NULL"),
            sqlite_where=text("returned_at IS NULL"),
        ),
        # The overdue, due-soon and fines jobs walk open loans in keyset batches of
        # (due_at, id): with id in the index a batch starts exactly where the last
        # ended, however many loans share a due date.
        Index(
            "ix_loans_open_due_at_id",
            "due_at",
            "id",
            postgresql_where=text("returned_at IS NULL"),
            sqlite_where=text("returned_at IS NULL"),
        ),
        Index("ix_loans_user_id_borrowed_at", "user_id", "borrowed_at"),
        # Admin ?status=active|overdue, newest first, without walking returned loans;
        # due_at in the index lets the page's ids skip active loans without reading
        # them (PostgreSQL; api.pagination.page_stmt `deferred`).
        Index("ix_loans_open_borrowed_at", "borrowed_at", "id", postgresql_where=text("returned_at IS NULL"),
              sqlite_where=text("returned_at IS NULL"), postgresql_include=["due_at"]),
        Index("ix_loans_book_id_borrowed_at", "book_id", "borrowed_at"),
        # One open loan per item: the backstop of the last-copy race at item level.
        Index(
            "uq_loans_open_item",
            "item_id",
            unique=True,
            postgresql_where=text("returned_at IS NULL"),
            sqlite_where=text("returned_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"))
    borrowed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    renewals: Mapped[int] = mapped_column(default=0)
    # Null only for a returned loan whose item was deleted since (history stays).
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    barcode: Mapped[str | None] = column_property(
        select(Item.barcode).where(Item.id == item_id).correlate_except(Item).scalar_subquery())

    user = relationship("User", lazy="raise")
    book = relationship("Book", lazy="raise")

    @property
    def status(self) -> str:
        """active | overdue | returned; `status_is` is the same rule in SQL."""
        return self.status_of(self.returned_at, self.due_at, utcnow())

    @staticmethod
    def status_of(returned_at: datetime | None, due_at: datetime, now: datetime) -> str:
        """The status rule for a loan's columns read without the entity (exports)."""
        if returned_at is not None:
            return "returned"
        return "overdue" if due_at < now else "active"

    @classmethod
    def status_is(cls, status: str, now: datetime) -> ColumnElement[bool]:
        """SQL for "the loan's status is `status` at `now`" (for ?status= filters)."""
        if status == "returned":
            return cls.returned_at.is_not(None)
        if status == "overdue":
            return and_(cls.returned_at.is_(None), cls.due_at < now)
        if status == "active":
            return and_(cls.returned_at.is_(None), cls.due_at >= now)
        raise ValueError(f"unknown loan status {status!r}")
