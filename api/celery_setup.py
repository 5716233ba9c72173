"""Celery bound to the Flask app (Flask's "Background Tasks with Celery" pattern).

`celery_init_app(app)` builds one Celery instance per Flask app from the app's
`CELERY` config key, stores it in `app.extensions["celery"]`, and runs every task
inside that app's context. Tasks are `@shared_task`s in `worker/`, so the same code
serves the real worker (`celery -A celery_app worker`) and the embedded test workers.

Reliability settings, and why:
- task_acks_late + task_reject_on_worker_lost: a message is acknowledged only after
  its task finishes, so a worker killed mid-task gives it back to the queue. Every
  task is therefore written to be safe to run twice (the outbox and dedupe keys).
- visibility_timeout (Redis): an unacknowledged message is redelivered after this
  long; it must exceed the longest task (task_time_limit) or a slow task runs twice
  concurrently. ETA/countdown messages are also bounded by it.
- worker_prefetch_multiplier=1: jobs are few and long; prefetching would park a
  queued job behind a busy one while another worker idles.
- two queues, `mail` (outbox delivery) and `jobs` (everything else): a long import
  never sits in front of a password-reset email. A worker started without -Q
  consumes both (task_queues); `-Q mail` / `-Q jobs` dedicate workers.
- task_ignore_result: the TaskRun table is what admins read; nothing reads Celery
  results, so they are not written (the backend stays configured on REDIS_URL).
"""

from celery import Celery, Task
from celery.schedules import crontab
from celery.signals import worker_process_init
from flask import Flask
from kombu import Exchange, Queue

from api.worker_heartbeat import heartbeat_step

SEND_TASK = "worker.mail.send_pending"
JOB_TASKS = {
    "overdue-check": "worker.jobs.overdue_check",
    "due-soon-reminders": "worker.jobs.due_soon_reminders",
    "expire-holds": "worker.jobs.expire_holds",
    "fines-accrual": "worker.fines.fines_accrual",
    "export-loans": "worker.exports.export_loans",
    "export-account-lines": "worker.exports.export_account_lines",
    "catalog-import": "worker.imports.catalog_import",
}
CLEANUP_TASK = "worker.files.cleanup_files"
MAIL_QUEUE, JOBS_QUEUE = "mail", "jobs"
# Jobs the API starts itself, with parameters (closing a date moves the loans due on it);
# their runs show in /admin/tasks like the others.
RESCHEDULE_JOB = "calendar-reschedule"
INTERNAL_TASKS = {RESCHEDULE_JOB: "worker.days.reschedule_closed_date"}
# beat entry name -> (config key with its crontab, task name)
SCHEDULE = {
    "overdue-check": ("OVERDUE_CHECK_CRON", JOB_TASKS["overdue-check"]),
    "due-soon-reminders": ("DUE_SOON_CRON", JOB_TASKS["due-soon-reminders"]),
    "expire-holds": ("EXPIRE_HOLDS_CRON", JOB_TASKS["expire-holds"]),
    "fines-accrual": ("FINES_ACCRUAL_CRON", JOB_TASKS["fines-accrual"]),
    "outbox-sweep": ("OUTBOX_SWEEP_CRON", SEND_TASK),
    "task-files-cleanup": ("TASK_FILES_CLEANUP_CRON", CLEANUP_TASK),
}

def parse_crontab(expr: str) -> crontab:
    """A five-field crontab string ("m h dom mon dow") as a Celery schedule, in UTC."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"crontab {expr!r} must have 5 fields: minute hour day month weekday")
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    return crontab(minute=minute, hour=hour, day_of_month=day_of_month,
                   month_of_year=month_of_year, day_of_week=day_of_week)


def celery_settings(config) -> dict:
    redis_url = config["REDIS_URL"]
    time_limit = int(config["TASK_TIME_LIMIT"])
    return {
        "broker_url": redis_url,
        "result_backend": redis_url,
        "task_ignore_result": True,
        "result_expires": 24 * 3600,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_time_limit": time_limit,
        "task_soft_time_limit": time_limit - 60,
        "broker_transport_options": {"visibility_timeout": 2 * time_limit},
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        # A request that enqueues (admin POST, the outbox kick) must fail fast when the
        # broker is down rather than hold the client for kombu's retry loop.
        "broker_connection_timeout": 2.0,
        "broker_connection_max_retries": 1,
        "timezone": "UTC",
        "enable_utc": True,
        # Each queue its own exchange and key: bare Queue(name)s would share the default
        # exchange and routing key, and every message would land in both.
        "task_queues": tuple(Queue(name, Exchange(name, type="direct"), routing_key=name)
                             for name in (MAIL_QUEUE, JOBS_QUEUE)),
        "task_default_queue": JOBS_QUEUE,
        "task_routes": {"worker.mail.*": {"queue": MAIL_QUEUE}},
        "beat_schedule": {
            # A run that waited past its next slot is dropped, not stacked up behind a
            # stopped worker: the next one does the same work.
            name: {"task": task, "schedule": parse_crontab(config[key]),
                   "options": {"expires": 55 if task == SEND_TASK else 3600}}
            for name, (key, task) in SCHEDULE.items()
        },
        "imports": ("worker.mail", "worker.jobs", "worker.fines", "worker.imports", "worker.exports",
                    "worker.files", "worker.days"),
    }


def celery_init_app(app: Flask) -> Celery:
    settings = celery_settings(app.config)
    settings.update(app.config["CELERY"])
    app.config["CELERY"] = settings

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(settings)
    celery_app.set_default()
    celery_app.steps["consumer"].add(heartbeat_step(app))
    app.extensions["celery"] = celery_app
    app.extensions["outbox_kick"] = lambda: kick_outbox(celery_app)

    @worker_process_init.connect(weak=False)
    def _dispose_engine(**_kwargs):
        # A forked child must not reuse the parent's pooled connections (two
        # processes on one socket corrupt the protocol stream).
        from api.extensions import db

        with app.app_context():
            db.engine.dispose(close=False)

    return celery_app


def kick_outbox(celery_app: Celery) -> None:
    """Ask a worker to send pending mail now; retry=False because the sweep is the backstop."""
    celery_app.send_task(SEND_TASK, retry=False, ignore_result=True)
