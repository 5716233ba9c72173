"""Extra apps for config variants, on the session's database and (by default) Redis.

The module-level `limiter` keeps each app's storage in app.extensions (see
api/ratelimit.py), so these apps do not disturb the session-wide one.
"""

import pytest
from redis.connection import AbstractConnection

SMALL_LIMITS = {"RATELIMIT_DEFAULT": "3 per minute", "RATELIMIT_LOGIN": "2 per minute",
                "RATELIMIT_REGISTER": "2 per minute", "RATELIMIT_PASSWORD_RESET": "2 per minute"}


@pytest.fixture
def small_app(make_app):
    return make_app(**SMALL_LIMITS)


@pytest.fixture
def proxied_app(make_app):
    return make_app(PROXY_FIX_X_FOR=1, **SMALL_LIMITS)


@pytest.fixture
def round_trips(monkeypatch):
    """A list that gets one entry per command (or pipeline) sent to any Redis."""
    sent = []
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    return sent
