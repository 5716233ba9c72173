from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api import request_id
from api.clock import utcnow
from api.extensions import db
from api.models.types import UTCDateTime

# `sending` is internal: a worker has handed the message to SMTP and not yet recorded
# the outcome. The public states are pending, sent and failed.
NOTIFICATION_STATES = ("pending", "sending", "sent", "failed")


class Notification(db.Model):
    """The outbox: every email is a row first, written in the transaction that causes it."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_state_next_attempt", "state", "next_attempt_at"),
        # GET /admin/notifications?state=|kind=, newest first (migration 0006).
        Index("ix_notifications_state_id", "state", "id"),
        Index("ix_notifications_kind_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # Unique: the same notice ("overdue:loan:7:2026-11-24") can be recorded only once,
    # however many times or in how many workers a job runs.
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    recipient: Mapped[str] = mapped_column(String(254))
    # NULL for notices a batch job records set-based (overdue, due soon): the worker
    # renders them from the loan when it sends them and stores what it sent.
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id", ondelete="SET NULL"), index=True)
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("holds.id", ondelete="SET NULL"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The request (or task) that caused the notice; it becomes the email's X-Request-ID.
    # The default also covers the jobs' bulk inserts, which bypass notify().
    request_id: Mapped[str | None] = mapped_column(String(128), default=request_id.current)
