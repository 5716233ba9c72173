"""Schemas for /admin (task control and the outbox), one per direction."""

from flask import url_for
from marshmallow import Schema, fields, pre_dump, validate

from api.celery_setup import INTERNAL_TASKS, JOB_TASKS
from api.docs import doc_schema
from api.fields import Text
from api.models import MESSAGE_LEVELS, TASK_STATES
from api.pagination import PageArgs, page_schema


@doc_schema
class TaskAccepted(Schema):
    """The answer to POST /admin/tasks/<name>: the run is recorded and queued."""

    task_id = fields.String(attribute="id")
    name = fields.String(metadata={"enum": list(JOB_TASKS)})
    state = fields.String(metadata={"enum": list(TASK_STATES)})
    status_url = fields.String(metadata={"description": "Poll this for state and progress."})


@doc_schema
class TaskProgress(Schema):
    current = fields.Integer()
    total = fields.Integer(allow_none=True, metadata={"description": "Null until the job has counted."})


@doc_schema
class TaskRunOut(Schema):
    task_id = fields.String(attribute="id")
    name = fields.String(metadata={"enum": [*JOB_TASKS, *INTERNAL_TASKS]})
    state = fields.String(metadata={"enum": list(TASK_STATES)})
    progress = fields.Nested(TaskProgress)
    result = fields.Raw(allow_none=True, metadata={"type": "object", "nullable": True,
                                                   "description": "The job's summary once succeeded."})
    error = fields.String(allow_none=True)
    requested_by = fields.Integer(allow_none=True, metadata={"description": "Admin id; null for beat."})
    requested_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    params = fields.Raw(allow_none=True, metadata={"type": "object", "nullable": True,
                                                   "description": "The job's validated parameters."})
    cancel_requested_at = fields.DateTime(allow_none=True, metadata={
        "description": "Set by POST .../cancel; a running job stops at its next batch."})
    retry_of = fields.String(allow_none=True, metadata={"description": "The run this one retries."})
    output_url = fields.String(allow_none=True, metadata={"description": "Download of the file it made."})

    @pre_dump
    def _progress(self, run, **_kwargs) -> dict:
        names = ("id", "name", "state", "result", "error", "requested_by", "requested_at",
                 "started_at", "finished_at", "params", "cancel_requested_at", "retry_of")
        data = {name: getattr(run, name) for name in names}
        data["progress"] = {"current": run.progress_current, "total": run.progress_total}
        data["output_url"] = url_for("admin.get_output", task=run.id) if run.has_output else None
        return data


TaskRunsPage = page_schema(TaskRunOut)


@doc_schema
class TaskMessageOut(Schema):
    ref = fields.String(metadata={"description": "The item: for an import, the row or record number."})
    level = fields.String(metadata={"enum": list(MESSAGE_LEVELS)})
    code = fields.String()
    detail = fields.String()


TaskMessagesPage = page_schema(TaskMessageOut)


@doc_schema
class TaskMessageQuery(PageArgs):
    level = fields.String(validate=validate.OneOf(MESSAGE_LEVELS))


@doc_schema
class OutboxBacklogOut(Schema):
    pending = fields.Integer()
    sending = fields.Integer()
    failed = fields.Integer()
    oldest_pending_at = fields.DateTime(allow_none=True)
    oldest_pending_age_seconds = fields.Float(allow_none=True)


@doc_schema
class TaskRunQuery(PageArgs):
    name = fields.String(validate=validate.OneOf([*JOB_TASKS, *INTERNAL_TASKS]))
    state = fields.String(validate=validate.OneOf(TASK_STATES))


@doc_schema
class ScheduleEntryOut(Schema):
    name = fields.String()
    task = fields.String()
    crontab = fields.String(metadata={"description": "minute hour day-of-month month day-of-week, UTC"})
    setting = fields.String(metadata={"description": "The environment variable that sets it."})


@doc_schema
class ScheduleOut(Schema):
    timezone = fields.String()
    items = fields.List(fields.Nested(ScheduleEntryOut))


# SPEC's outbox states; `sending` (a row handed to SMTP and not yet recorded) is the
# worker's own, shown as the pending row it still is (README "Email").
PUBLIC_NOTIFICATION_STATES = ("pending", "sent", "failed")


class NotificationState(fields.String):
    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize("pending" if value == "sending" else value, attr, obj, **kwargs)


@doc_schema
class NotificationOut(Schema):
    """An outbox row. The body is left out: it can carry a password-reset token."""

    id = fields.Integer()
    kind = fields.String()
    recipient = fields.String()
    subject = fields.String(allow_none=True, metadata={
        "description": "null until sent for notices rendered at send time (overdue, due soon)"})
    state = NotificationState(metadata={"enum": list(PUBLIC_NOTIFICATION_STATES)})
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    user_id = fields.Integer(allow_none=True)
    loan_id = fields.Integer(allow_none=True)
    hold_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    next_attempt_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


NotificationsPage = page_schema(NotificationOut)


@doc_schema
class NotificationQuery(PageArgs):
    state = fields.String(validate=validate.OneOf(PUBLIC_NOTIFICATION_STATES))
    kind = Text(max_length=32)
