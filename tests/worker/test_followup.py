"""A worker with rows waiting schedules one wake-up for the earliest of them."""

from datetime import timedelta

import pytest

from api.clock import utcnow
from api.extensions import db
from api.models import Notification
from tests.worker.helpers import add_notices
from worker.mail import FOLLOWUP_KEY, _schedule_followup

pytestmark = pytest.mark.worker


def due_in(worker_app, row_id: int, seconds: int) -> None:
    with worker_app.app_context():
        db.session.get(Notification, row_id).next_attempt_at = utcnow() + timedelta(seconds=seconds)
        db.session.commit()


def scheduled_wake(redis_client) -> float:
    return int(redis_client.get(FOLLOWUP_KEY)) / 1000


def test_a_sooner_retry_replaces_a_later_wake_up(worker_app, clean_broker, redis_client):
    [row_id] = add_notices(worker_app, 1)
    due_in(worker_app, row_id, 240)  # e.g. a lease that expires in four minutes
    with worker_app.app_context():
        _schedule_followup()
    later = scheduled_wake(redis_client)

    due_in(worker_app, row_id, 5)  # a retry due much sooner
    with worker_app.app_context():
        _schedule_followup()
    sooner = scheduled_wake(redis_client)
    assert sooner < later - 200

    due_in(worker_app, row_id, 120)  # a later one does not push the wake-up back
    with worker_app.app_context():
        _schedule_followup()
    assert scheduled_wake(redis_client) == sooner
