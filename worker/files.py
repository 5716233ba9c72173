"""Retention: job files (uploads and outputs) older than TASK_FILE_RETENTION_DAYS go,
except an upload a queued or running run still reads (its own run, or a retry naming it
in params["file_id"]): deleting its chunks mid-read would end the import early, as if
the file ended there."""

from datetime import timedelta

from celery import shared_task
from flask import current_app
from sqlalchemy import delete, exists, or_, select

from api.clock import utcnow
from api.extensions import db
from api.models import TaskFile, TaskFileChunk, TaskRun

BATCH = 50  # files per transaction: each may have many chunks


@shared_task(name="worker.files.cleanup_files")
def cleanup_files() -> dict:
    return remove_expired_files()


def remove_expired_files() -> dict:
    cutoff = utcnow() - timedelta(days=current_app.config["TASK_FILE_RETENTION_DAYS"])
    removed = 0
    in_use = exists().where(TaskRun.state.in_(("queued", "running")),
                            or_(TaskRun.id == TaskFile.run_id,
                                TaskRun.params["file_id"].as_integer() == TaskFile.id))
    while True:
        ids = db.session.scalars(select(TaskFile.id).where(TaskFile.created_at < cutoff, ~in_use)
                                 .order_by(TaskFile.id).limit(BATCH)).all()
        if not ids:
            db.session.commit()
            return {"removed": removed}
        # Chunks first and explicitly: the cascade would do it, but not on a SQLite
        # connection without foreign keys, and never in bounded transactions.
        db.session.execute(delete(TaskFileChunk).where(TaskFileChunk.file_id.in_(ids)))
        db.session.execute(delete(TaskFile).where(TaskFile.id.in_(ids)))
        db.session.commit()
        removed += len(ids)
