import pytest

from api.extensions import db
from api.models import ClosedDate, ClosedWeekday


@pytest.fixture
def zone(app, monkeypatch):
    """zone("Pacific/Auckland"): set LIBRARY_TIMEZONE for this test."""
    def set_zone(name: str) -> str:
        monkeypatch.setitem(app.config, "LIBRARY_TIMEZONE", name)
        return name
    return set_zone


@pytest.fixture
def close(app):
    """close(weekdays=[6, 7], dates=[date(...)]): write the calendar directly."""
    def write(*, weekdays=(), dates=()):
        with app.app_context():
            db.session.add_all([ClosedWeekday(weekday=d) for d in weekdays])
            db.session.add_all([ClosedDate(date=d, reason="test") for d in dates])
            db.session.commit()
    return write


from tests.worker.fixtures import (  # noqa: E402,F401
    broker_url,
    celery_worker,
    clean_broker,
    dead_broker_app,
    inbox,
    threaded_worker,
    worker_app,
)
