"""/admin: trigger background jobs, watch them run, read the schedule and the outbox."""

import logging
import uuid

from flask import current_app, url_for
from kombu.exceptions import KombuError
from redis.exceptions import RedisError
from sqlalchemy import delete, select

from api.admin import bp
from api.admin.schemas import (
    NotificationOut,
    NotificationQuery,
    ScheduleOut,
    TaskAccepted,
    TaskRunOut,
    TaskRunQuery,
)
from api.auth import admin_required, current_user
from api.celery import JOB_TASKS, SCHEDULE
from api.errors import NotFound, ServiceUnavailable
from api.extensions import db
from api.models import Notification, TaskRun
from api.pagination import paginate
from api.parsing import query_args
from api.ratelimit import admin_tasks_limit, limiter

log = logging.getLogger(__name__)


# Both task routes name their variable `task` (a job name here, a run id below):
# OpenAPI treats /tasks/{a} and /tasks/{b} as one path, so the names must agree.
@bp.post("/tasks/<task>")
@limiter.limit(admin_tasks_limit)
@admin_required
def start_task(task: str):
    """Run a background job now.
    ---
    tags: [admin]
    security: [{bearerAuth: []}]
    description: >
      Records the run (state `queued`) and then queues it. If the broker cannot take
      it the record is removed and the answer is 503: nothing is left pretending to
      be queued. Poll `status_url` (GET /admin/tasks/{task} with the run id) for progress.
    parameters:
      - in: path
        name: task
        required: true
        description: The job to run.
        schema: {type: string, enum: [overdue-check, due-soon-reminders, expire-holds]}
    responses:
      202:
        description: Queued.
        headers:
          Location: {schema: {type: string}, description: The status URL.}
        content:
          application/json:
            schema: {$ref: '#/components/schemas/TaskAccepted'}
      403: {$ref: '#/components/responses/Forbidden'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    task_name = JOB_TASKS.get(task)
    if task_name is None:
        raise NotFound(f"No such task; choose one of {', '.join(JOB_TASKS)}.")
    run = TaskRun(id=str(uuid.uuid4()), name=task, state="queued", requested_by=current_user().id)
    db.session.add(run)
    # Committed before queueing: a fast worker must find the row it reports progress to.
    db.session.commit()
    try:
        current_app.extensions["celery"].send_task(task_name, task_id=run.id, retry=False,
                                                   ignore_result=True)
    except (KombuError, RedisError, OSError) as e:
        log.warning("Broker unavailable, task %s not queued: %s", task, e)
        db.session.rollback()
        db.session.execute(delete(TaskRun).where(TaskRun.id == run.id))
        db.session.commit()
        raise ServiceUnavailable("The task queue (broker) is unavailable; the task was not queued.",
                                 headers={"Retry-After": "5"}) from None
    status_url = url_for("admin.get_task", task=run.id)
    body = TaskAccepted().dump({"id": run.id, "name": task, "state": "queued", "status_url": status_url})
    return body, 202, {"Location": status_url}


@bp.get("/tasks/<task>")
@admin_required
def get_task(task: str):
    """A job run's state and progress.
    ---
    tags: [admin]
    security: [{bearerAuth: []}]
    parameters:
      - {in: path, name: task, required: true, description: The run id (task_id)., schema: {type: string}}
    responses:
      200:
        description: The run, from the task_runs table (it outlives Celery's results).
        content:
          application/json:
            schema: {$ref: '#/components/schemas/TaskRunOut'}
      403: {$ref: '#/components/responses/Forbidden'}
      404: {$ref: '#/components/responses/NotFound'}
    """
    run = db.session.get(TaskRun, task) if len(task) <= 64 else None
    if run is None:
        raise NotFound("No such task.")
    return TaskRunOut().dump(run)


@bp.get("/tasks")
@admin_required
def list_tasks():
    """Job runs, most recent first (admin-triggered and scheduled).
    ---
    tags: [admin]
    security: [{bearerAuth: []}]
    parameters:
      - in: query
        name: name
        schema: {type: string, enum: [overdue-check, due-soon-reminders, expire-holds, calendar-reschedule]}
      - {in: query, name: state, schema: {type: string, enum: [queued, running, succeeded, failed]}}
      - $ref: '#/components/parameters/Page'
      - $ref: '#/components/parameters/PerPage'
    responses:
      200:
        description: A page of runs, with an RFC 8288 Link header.
        headers:
          Link: {schema: {type: string}}
        content:
          application/json:
            schema: {$ref: '#/components/schemas/TaskRunsPage'}
      400: {$ref: '#/components/responses/BadRequest'}
      403: {$ref: '#/components/responses/Forbidden'}
    """
    args = query_args(TaskRunQuery())
    stmt = select(TaskRun).order_by(TaskRun.requested_at.desc(), TaskRun.id.desc())
    for key in ("name", "state"):
        if key in args:
            stmt = stmt.where(getattr(TaskRun, key) == args[key])
    return paginate(stmt, TaskRunOut(), args)


@bp.get("/schedule")
@admin_required
def schedule():
    """The beat schedule: each periodic job and its crontab (UTC).
    ---
    tags: [admin]
    security: [{bearerAuth: []}]
    responses:
      200:
        description: The entries beat runs, as configured by the *_CRON settings.
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ScheduleOut'}
      403: {$ref: '#/components/responses/Forbidden'}
    """
    config = current_app.config
    items = [{"name": name, "task": task, "crontab": config[key], "setting": key}
             for name, (key, task) in SCHEDULE.items()]
    return ScheduleOut().dump({"timezone": "UTC", "items": items})


@bp.get("/notifications")
@admin_required
def list_notifications():
    """The email outbox, newest first; `?state=failed` shows what needs attention.
    ---
    tags: [admin]
    security: [{bearerAuth: []}]
    parameters:
      - {in: query, name: state, schema: {type: string, enum: [pending, sending, sent, failed]}}
      - {in: query, name: kind, schema: {type: string, maxLength: 32}}
      - $ref: '#/components/parameters/Page'
      - $ref: '#/components/parameters/PerPage'
    responses:
      200:
        description: A page of outbox rows, with an RFC 8288 Link header.
        headers:
          Link: {schema: {type: string}}
        content:
          application/json:
            schema: {$ref: '#/components/schemas/NotificationsPage'}
      400: {$ref: '#/components/responses/BadRequest'}
      403: {$ref: '#/components/responses/Forbidden'}
    """
    args = query_args(NotificationQuery())
    stmt = select(Notification).order_by(Notification.id.desc())
    for key in ("state", "kind"):
        if key in args:
            stmt = stmt.where(getattr(Notification, key) == args[key])
    return paginate(stmt, NotificationOut(), args)
