"""Extra apps for config variants, on the session's database and (by default) Redis.

The module-level `limiter` keeps each app's storage in app.extensions (see
api/ratelimit.py), so these apps do not disturb the session-wide one.
"""

import pytest
from sqlalchemy import event

from api.extensions import db

SMALL_LIMITS = {"RATELIMIT_DEFAULT": "3 per minute", "RATELIMIT_LOGIN": "2 per minute",
                "RATELIMIT_REGISTER": "2 per minute", "RATELIMIT_PASSWORD_RESET": "2 per minute"}


@pytest.fixture
def small_app(make_app):
    return make_app(**SMALL_LIMITS)


@pytest.fixture
def proxied_app(make_app):
    return make_app(PROXY_FIX_X_FOR=1, **SMALL_LIMITS)


class SqlCounter:
    def __init__(self):
        self.statements = []

    def __call__(self, conn, cursor, statement, *args):
        self.statements.append(statement)


@pytest.fixture
def count_sql(app):
    """count_sql(on=app) -> a list collecting every SQL statement that app runs from now on."""
    listening = []

    def start(on=app):
        counter = SqlCounter()
        with on.app_context():
            engine = db.engine  # each app has its own engine
        event.listen(engine, "before_cursor_execute", counter)
        listening.append((engine, counter))
        return counter.statements

    yield start
    for engine, counter in listening:
        event.remove(engine, "before_cursor_execute", counter)
