"""One scheduler: beat runs celery-redbeat's scheduler, which holds a Redis lock.

Every beat process takes the same lock (`redbeat::lock`) before it schedules
anything; a second beat started by mistake waits for it instead of enqueueing every
job a second time, and takes over when the first stops (at once on a clean stop,
after BEAT_LOCK_TIMEOUT seconds if it died without releasing the lock). The
schedule and each entry's last run time live in Redis too, so the one that takes
over neither repeats nor skips a due time the other already handled.

Also here, because it belongs to the same processes: Celery must leave the root
logger alone (celery_app.py hands logging to api.logs via `setup_logging`).
"""

from celery import Celery


def beat_settings(celery_app: Celery, config) -> dict:
    return {
        "beat_scheduler": "redbeat.RedBeatScheduler",
        # The broker's Redis (tests give the broker a database of its own).
        "redbeat_redis_url": celery_app.conf.broker_url,
        # Given explicitly so redbeat does not borrow the broker's transport options.
        "redbeat_redis_options": {"retry_period": 60, "socket_timeout": 5},
        "redbeat_lock_timeout": int(config["BEAT_LOCK_TIMEOUT"]),
        "beat_max_loop_interval": int(config["BEAT_MAX_INTERVAL"]),
        "worker_hijack_root_logger": False,
    }


def init_beat(app) -> None:
    celery_app = app.extensions["celery"]
    celery_app.conf.update(beat_settings(celery_app, app.config))
