"""Small helpers shared by the background-work tests."""

from types import SimpleNamespace

from sqlalchemy import func, select

from api.extensions import db
from api.models import Notification, TaskRun
from api.notify import notify


def add_notices(worker_app, count: int, *, prefix: str = "test") -> list[int]:
    """Record `count` welcome emails in one transaction (its commit kicks the worker)."""
    with worker_app.app_context():
        rows = [notify(db.session, "welcome", recipient=f"reader{i}@example.com",
                       dedupe_key=f"{prefix}:{i}", user=SimpleNamespace(username=f"reader{i}"),
                       max_loans=5)
                for i in range(count)]
        db.session.commit()
        return [row.id for row in rows]


def outbox(worker_app) -> dict[int, Notification]:
    with worker_app.app_context():
        rows = db.session.scalars(select(Notification).order_by(Notification.id)).all()
        db.session.expunge_all()
        return {row.id: row for row in rows}


def count_in(worker_app, *states: str) -> int:
    with worker_app.app_context():
        return db.session.scalar(select(func.count()).select_from(Notification)
                                 .where(Notification.state.in_(states)))


def settled(worker_app) -> bool:
    """Nothing left to send or in flight."""
    return count_in(worker_app, "pending", "sending") == 0


def task_run(worker_app, run_id: str) -> TaskRun | None:
    with worker_app.app_context():
        run = db.session.get(TaskRun, run_id)
        if run is not None:
            db.session.expunge(run)
        return run


def kick(worker_app) -> None:
    worker_app.extensions["outbox_kick"]()
