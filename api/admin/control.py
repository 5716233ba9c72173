"""/admin/tasks/<id>/...: cancel, retry, messages and the output file of a run."""

from flask import Response, stream_with_context

from api.admin import bp, service
from api.admin.files import iter_chunks
from api.admin.routes import accepted
from api.admin.schemas import OutboxBacklogOut, TaskMessageOut, TaskMessageQuery, TaskRunOut
from api.auth import admin_required, current_user
from api.extensions import db
from api.pagination import paginate
from api.parsing import query_args
from api.ratelimit import admin_tasks_limit, limiter


@bp.post("/tasks/<task>/cancel")
@admin_required
def cancel_task(task: str):
    """Cancel a run.
    ---
    tags: [admin]
    security: [{bearerAuth: []}]
    description: >
      A queued run becomes `cancelled` at once and never starts. A running one is
      flagged and stops before its next batch, keeping the batches it finished, then
      shows `cancelled`; flagged during its last batch, it has nothing left to skip and
      ends `succeeded`. The flag is in the database, so it holds across worker restarts.
      A run running for longer than TASK_TIME_LIMIT has lost its worker: it is
      `cancelled` at once (see its `error`) and can be retried. A finished run is 409
      `task_finished`.
    parameters:
      - {in: path, name: task, required: true, description: The run id., schema: {type: string}}
    x-response: {202: TaskRunOut, description: 'Cancelled, or flagged to stop at its next batch.'}
    x-errors: [403, 404, 409]
    """
    run = service.cancel_run(db.session, task, actor_id=current_user().id)
    return TaskRunOut().dump(run), 202


@bp.post("/tasks/<task>/retry")
@limiter.limit(admin_tasks_limit)
@admin_required
def retry_task(task: str):
    """Run a failed or cancelled run again, with the same parameters.
    ---
    tags: [admin]
    security: [{bearerAuth: []}]
    description: >
      Queues a new run of the same job with the same `params`; it shows `retry_of`.
      Any other state is 409 `task_not_retryable`.
    parameters:
      - {in: path, name: task, required: true, description: The run id., schema: {type: string}}
    x-response: {202: TaskAccepted, description: 'The new run, queued.', location: The new run's status URL.}
    x-errors: [403, 404, 409]
    """
    return accepted(service.retry_run(db.session, task, actor_id=current_user().id))


@bp.get("/tasks/<task>/messages")
@admin_required
def task_messages(task: str):
    """A run's per-item messages, in the order they were written.
    ---
    tags: [admin]
    security: [{bearerAuth: []}]
    parameters:
      - {in: path, name: task, required: true, description: The run id., schema: {type: string}}
      - {in: query, name: level, schema: {type: string, enum: [info, warning, error]}}
      - $ref: '#/components/parameters/Page'
      - $ref: '#/components/parameters/PerPage'
      - $ref: '#/components/parameters/After'
    x-response:
      200: TaskMessagesPage
      description: A page of messages, with an RFC 8288 Link header.
      link: true
    x-errors: [400, 403, 404]
    """
    args = query_args(TaskMessageQuery())
    service.get_run(db.session, task)
    return paginate(service.messages_stmt(task, level=args.get("level")), TaskMessageOut(), args)


@bp.get("/tasks/<task>/output")
@admin_required
def get_output(task: str):
    """Download the file a run made (e.g. an export's CSV).
    ---
    tags: [admin]
    security: [{bearerAuth: []}]
    description: >
      Streamed from the database, so any API host serves it. 404 when the run has no
      finished output, or it was removed after TASK_FILE_RETENTION_DAYS.
    parameters:
      - {in: path, name: task, required: true, description: The run id., schema: {type: string}}
    responses:
      200:
        description: The file, with its content type and a Content-Disposition file name.
        headers:
          Content-Disposition: {schema: {type: string}}
        content:
          text/csv:
            schema: {type: string, format: binary}
    x-errors: [403, 404]
    """
    file = service.get_output(db.session, task)
    file_id, size, filename, content_type = file.id, file.size, file.filename, file.content_type
    db.session.commit()
    response = Response(stream_with_context(iter_chunks(file_id)), mimetype=content_type)
    response.headers["Content-Length"] = str(size)
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    return response


@bp.get("/notifications/backlog")
@admin_required
def outbox_backlog():
    """What the outbox has not sent yet: counts by state, the oldest pending email.
    ---
    tags: [admin]
    security: [{bearerAuth: []}]
    x-response: {200: OutboxBacklogOut, description: The backlog.}
    x-errors: [403]
    """
    return OutboxBacklogOut().dump(service.outbox_backlog(db.session))
