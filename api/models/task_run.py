from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.clock import utcnow
from api.extensions import db
from api.models.types import UTCDateTime

TASK_STATES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED_STATES = ("succeeded", "failed", "cancelled")


class TaskRun(db.Model):
    """A durable record of an admin-triggered or scheduled job (Celery forgets; this doesn't)."""

    __tablename__ = "task_runs"
    # GET /admin/tasks?name=|state=, newest first (migration 0006).
    __table_args__ = (Index("ix_task_runs_name_requested_at", "name", "requested_at"),
                      Index("ix_task_runs_state_requested_at", "state", "requested_at"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the Celery task id
    name: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    # The job's validated parameters (a retry runs with the same ones).
    params: Mapped[Any | None] = mapped_column(JSON)
    progress_current: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None] = mapped_column()
    result: Mapped[Any | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The cancel flag lives here, not in Celery's revoke list: it survives worker
    # restarts and every worker sees it at its next batch boundary.
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retry_of: Mapped[str | None] = mapped_column(ForeignKey("task_runs.id", ondelete="SET NULL"))
