"""What a job run leaves behind besides its status: per-item messages and files.

Files (an import's upload, an export's CSV) live in the database in chunks, so any
API host can serve them and any worker can read them, and neither side ever holds a
whole file in memory.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, column_property, mapped_column

from api.clock import utcnow
from api.extensions import db
from api.models.task_run import TaskRun
from api.models.types import UTCDateTime

MESSAGE_LEVELS = ("info", "warning", "error")
FILE_KINDS = ("input", "output")


class TaskMessage(db.Model):
    __tablename__ = "task_messages"
    __table_args__ = (Index("ix_task_messages_run_level", "run_id", "level", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("task_runs.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(64))  # e.g. the row or record number
    level: Mapped[str] = mapped_column(String(8))
    code: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)


class TaskFile(db.Model):
    __tablename__ = "task_files"
    __table_args__ = (UniqueConstraint("run_id", "kind", name="uq_task_files_run_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The run that made (output) or first received (input) the file; a retry of an
    # import reads its original's input through params["file_id"].
    run_id: Mapped[str] = mapped_column(ForeignKey("task_runs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(default=0)
    complete: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class TaskFileChunk(db.Model):
    __tablename__ = "task_file_chunks"

    file_id: Mapped[int] = mapped_column(ForeignKey("task_files.id", ondelete="CASCADE"),
                                         primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


# Correlated EXISTS in the run's own SELECT: a page of runs knows which have a file
# without one query per run.
TaskRun.has_output = column_property(
    select(TaskFile.id).where(TaskFile.run_id == TaskRun.id, TaskFile.kind == "output",
                              TaskFile.complete.is_(True)).exists())
