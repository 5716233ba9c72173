from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.clock import utcnow
from api.extensions import db
from api.models.types import UTCDateTime

TASK_STATES = ("queued", "running", "succeeded", "failed")


class TaskRun(db.Model):
    """A durable record of an admin-triggered or scheduled job (Celery forgets; this doesn't)."""

    __tablename__ = "task_runs"
    # GET /admin/tasks?name=|state=, newest first (migration 0006).
    __table_args__ = (Index("ix_task_runs_name_requested_at", "name", "requested_at"),
                      Index("ix_task_runs_state_requested_at", "state", "requested_at"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the Celery task id
    name: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    progress_current: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None] = mapped_column()
    result: Mapped[Any | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
