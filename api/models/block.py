from datetime import datetime

from sqlalchemy import ColumnElement, ForeignKey, Index, String, or_
from sqlalchemy.orm import Mapped, mapped_column

from api.clock import utcnow
from api.extensions import db
from api.models.types import UTCDateTime


class Block(db.Model):
    """An admin's block on a member: no borrowing, renewing or holds until it ends."""

    __tablename__ = "blocks"
    __table_args__ = (Index("ix_blocks_user", "user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500))
    # Null: until an admin deletes it.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    def is_active(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now

    @classmethod
    def active_at(cls, now: datetime) -> ColumnElement[bool]:
        """`is_active` in SQL."""
        return or_(cls.expires_at.is_(None), cls.expires_at > now)
