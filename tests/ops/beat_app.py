"""The real beat (celery_app, redbeat and its lock) with one entry due every second,
and a record in Redis of each firing: which process sent it and for which due time."""

import json
import os

from redbeat import RedBeatScheduler

from api.redis_client import get_redis
from celery_app import app, flask_app

FIRED_KEY = "beat-test:fired"  # tests/ops/test_one_scheduler.py names it too

app.conf.beat_schedule = {
    "tick": {"task": "tests.ops.tick", "schedule": 1.0, "options": {"queue": "beat-test"}},
}


class RecordingScheduler(RedBeatScheduler):
    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        # The entry was loaded from Redis: last_run_at is the previous firing, the same
        # for any process that would fire this due time, so it names the due time.
        due_after = entry.last_run_at.isoformat() if entry.last_run_at else None
        result = super().apply_async(entry, producer, advance, **kwargs)
        with flask_app.app_context():
            get_redis().rpush(FIRED_KEY, json.dumps({"pid": os.getpid(), "after": due_after}))
        return result


app.conf.beat_scheduler = f"{__name__}:RecordingScheduler"
if os.environ.get("BEAT_TEST_WITHOUT_LOCK"):  # the control: what the lock prevents
    app.conf.redbeat_lock_key = None
