from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.clock import utcnow
from api.extensions import db
from api.models.types import UTCDateTime


class AuditEntry(db.Model):
    """One staff action, written in the same transaction as the change it records."""

    __tablename__ = "audit_log"
    __table_args__ = (
        # The two filters GET /admin/audit offers, newest first.
        Index("ix_audit_object", "object_type", "object_id", "id"),
        Index("ix_audit_actor", "actor_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Null once the admin is deleted: the record of what was done stays.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    # A string: most objects have integer ids, a closed date is "2026-12-24".
    object_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[Any | None] = mapped_column(JSON)
