"""/admin: trigger background jobs, watch them run, read the schedule and the outbox."""

import logging

from flask import current_app, request, url_for
from sqlalchemy import select

from api.admin import bp, service
from api.admin.params import NOT_STARTABLE, params_schema
from api.admin.schemas import (
    NotificationOut,
    NotificationQuery,
    ScheduleOut,
    TaskAccepted,
    TaskRunOut,
    TaskRunQuery,
)
from api.auth import admin_required, current_user
from api.celery_setup import JOB_TASKS, SCHEDULE
from api.errors import BadRequest, NotFound
from api.extensions import db
from api.models import Notification, TaskRun
from api.pagination import paginate
from api.parsing import json_body, query_args
from api.ratelimit import admin_tasks_limit, limiter

log = logging.getLogger(__name__)


# Every task route names its variable `task` (a job name here, a run id below):
# OpenAPI treats /tasks/{a} and /tasks/{b} as one path, so the names must agree.
@bp.post("/tasks/<task>")
@limiter.limit(admin_tasks_limit)
@admin_required
def start_task(task: str):
    """Run a background job now, with its parameters.
    ---
    tags: [admin]
    security: [{bearerAuth: []}]
    description: >
      Records the run (state `queued`, its validated `params`) and then queues it. If
      the broker cannot take it the record is removed and the answer is 503: nothing is
      left pretending to be queued. Poll `status_url` for progress. The body is
      optional; each job takes its own parameters (`export-loans`: ExportLoansParams;
      `export-account-lines`: ExportAccountLinesParams;
      the others none) and refuses unknown or invalid ones with 400. A catalog import
      is started with POST /admin/imports (it needs an upload).
    parameters:
      - in: path
        name: task
        required: true
        description: The job to run.
        schema:
          type: string
          enum: [overdue-check, due-soon-reminders, expire-holds, fines-accrual, export-loans,
                 export-account-lines]
    requestBody:
      required: false
      content:
        application/json:
          schema:
            oneOf:
              - {$ref: '#/components/schemas/ExportLoansParams'}
              - {$ref: '#/components/schemas/ExportAccountLinesParams'}
    x-response: {202: TaskAccepted, description: Queued., location: The status URL.}
    x-errors: [403, 404]
    """
    # The body's shape first (415/400 whatever the name), then the name, then the params.
    body = json_body(_AsIs()) if _has_body() else {}
    if task not in JOB_TASKS:
        raise NotFound(f"No such task; choose one of {', '.join(JOB_TASKS)}.")
    if task in NOT_STARTABLE:
        raise BadRequest(f"Start a {task} run with {NOT_STARTABLE[task]}.")
    schema = params_schema(task)
    params = schema.dump(schema.load(body))
    run = service.enqueue(db.session, service.new_run(db.session, task, params,
                                                      requested_by=current_user().id))
    return accepted(run)


class _AsIs:
    """A loader for json_body that keeps the object as it is (validated per job next)."""

    def load(self, data: dict) -> dict:
        return data


def _has_body() -> bool:
    return bool(request.content_length) or request.is_json


def accepted(run):
    status_url = url_for("admin.get_task", task=run.id)
    body = TaskAccepted().dump({"id": run.id, "name": run.name, "state": run.state,
                                "status_url": status_url})
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
    x-response:
      200: TaskRunOut
      description: The run, from the task_runs table (it outlives Celery's results).
    x-errors: [403, 404]
    """
    return TaskRunOut().dump(service.get_run(db.session, task))


@bp.get("/tasks")
@admin_required
def list_tasks():
    """Job runs, most recent first (admin-triggered and scheduled).
    ---
    tags: [admin]
    security: [{bearerAuth: []}]
    x-query-schema: TaskRunQuery
    x-response: {200: TaskRunsPage, description: 'A page of runs, with an RFC 8288 Link header.', link: true}
    x-errors: [400, 403]
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
    x-response:
      200: ScheduleOut
      description: The entries beat runs, as configured by the *_CRON settings.
    x-errors: [403]
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
    x-query-schema: NotificationQuery
    x-response:
      200: NotificationsPage
      description: A page of outbox rows, with an RFC 8288 Link header.
      link: true
    x-errors: [400, 403]
    """
    args = query_args(NotificationQuery())
    stmt = select(Notification).order_by(Notification.id.desc())
    if "state" in args:  # pending includes the rows a worker is sending (shown as pending)
        states = ("pending", "sending") if args["state"] == "pending" else (args["state"],)
        stmt = stmt.where(Notification.state.in_(states))
    if "kind" in args:
        stmt = stmt.where(Notification.kind == args["kind"])
    return paginate(stmt, NotificationOut(), args)
