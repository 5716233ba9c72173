from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from api.clock import utcnow
from api.extensions import db
from api.models.types import UTCDateTime

HOLD_STATES = ("waiting", "ready", "fulfilled", "cancelled", "expired")
OPEN_HOLD_STATES = ("waiting", "ready")


class Hold(db.Model):
    __tablename__ = "holds"
    __table_args__ = (
        # One open hold per member and book.
        Index(
            "uq_holds_open_user_book",
            "user_id",
            "book_id",
            unique=True,
            postgresql_where=text("status IN ('waiting', 'ready')"),
            sqlite_where=text("status IN ('waiting', 'ready')"),
        ),
        # The queue: open holds of a book in arrival order.
        Index("ix_holds_book_status_created", "book_id", "status", "created_at"),
        Index("ix_holds_status_expires_at", "status", "expires_at"),
        # The hourly job's "whose suspension has ended" (migration 0010).
        Index(
            "ix_holds_waiting_suspended_until",
            "suspended_until",
            "book_id",
            postgresql_where=text("status = 'waiting' AND suspended_until IS NOT NULL"),
            sqlite_where=text("status = 'waiting' AND suspended_until IS NOT NULL"),
        ),
        # GET /holds, newest first: all, and by status (migration 0006).
        Index("ix_holds_created_at_id", "created_at", "id"),
        Index("ix_holds_status_created_at", "status", "created_at"),
        # An item is kept for one ready hold at most.
        Index(
            "uq_holds_ready_item",
            "item_id",
            unique=True,
            postgresql_where=text("status = 'ready'"),
            sqlite_where=text("status = 'ready'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a ready hold stops keeping its copy (ready_at + the rule's hold_pickup_days,
    # moved to an open day).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The item kept on the hold shelf while ready (kept afterwards as a record).
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    # A library date (LIBRARY_TIMEZONE): the waiting hold is passed over through the day
    # before and waits again from the start of this day (api.circulation.suspension).
    suspended_until: Mapped[date | None] = mapped_column(Date)

    # 1-based place in the queue of a waiting hold; only loaded where a query asks for
    # it with `with_expression(Hold.position, ...)` (see api.circulation.holds).
    position: Mapped[int | None] = query_expression()

    user = relationship("User", lazy="raise")
    book = relationship("Book", lazy="raise")
