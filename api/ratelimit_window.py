"""The limiter's strategy: a fixed window costing one Redis round trip per limit check.

A Lua script increments the counter and returns its TTL, and the response headers
are built from that answer instead of Flask-Limiter's extra GET + TTL per request.

Redis down: ordinary limits count in process memory (per worker, so looser but never
unlimited); login, register and password reset fail closed with a 503. Redis is
tried again after RATELIMIT_STORAGE_RETRY_SECONDS, so both recover without a restart.
"""

import logging
import time

from flask import g
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from limits.util import WindowStats
from redis.exceptions import RedisError

from api.errors import ServiceUnavailable

log = logging.getLogger("api.ratelimit")

# Scope given to the limits that must hold even when Redis is down.
STRICT_SCOPE = "strict"

# INCRBY, EXPIRE on the first hit of a window, and PTTL, in one round trip; given
# more keys, their values too (a view's first read carried by the hit:
# api/ratelimit_plan.py), as MGET would answer them.
_HIT_SCRIPT = """
local current = redis.call("incrby", KEYS[1], ARGV[2])
if tonumber(current) == tonumber(ARGV[2]) then
    redis.call("expire", KEYS[1], ARGV[1])
end
if #KEYS > 1 then
    return {current, redis.call("pttl", KEYS[1]), redis.call("mget", unpack(KEYS, 2))}
end
return {current, redis.call("pttl", KEYS[1])}
"""


def _remember(key: str, stats: WindowStats) -> None:
    g.setdefault("_ratelimit_windows", {})[key] = stats


class OneTripFixedWindow(FixedWindowRateLimiter):
    """Fixed-window strategy on Redis with an in-memory fallback (see module docstring)."""

    def __init__(self, storage, retry_seconds: float):
        super().__init__(storage)
        self.script = storage.get_connection().register_script(_HIT_SCRIPT)
        self.memory = FixedWindowRateLimiter(MemoryStorage())
        self.retry_seconds = retry_seconds
        self.down_until: float | None = None
        # Whether the catalog cache is on this Redis, so its round trip can carry a hit.
        self.shares_cache_redis = False

    def hit(self, item, *identifiers: str, cost: int = 1) -> bool:
        answer = None
        if self.redis_up():
            try:
                answer = self.script([self.redis_key(item, identifiers)], [item.get_expiry(), cost])
            except RedisError as e:
                self.redis_failed(e)
        return self.settle(item, identifiers, cost, answer)

    def redis_key(self, item, identifiers) -> str:
        return self.storage.prefixed_key(item.key_for(*identifiers))

    def redis_up(self) -> bool:
        return self.down_until is None or time.monotonic() >= self.down_until

    def redis_failed(self, error: Exception) -> None:
        if self.down_until is None:
            log.warning("Rate-limit storage unreachable (%s): in-memory counters for "
                        "general limits, strict limits fail closed", error)
        self.down_until = time.monotonic() + self.retry_seconds

    def settle(self, item, identifiers, cost: int, answer) -> bool:
        """The hit's outcome: from the script's answer (count, ms to reset), or, with
        none (Redis failed or is left alone), closed or in memory."""
        key = item.key_for(*identifiers)
        if answer is not None:
            if self.down_until is not None:
                log.warning("Rate-limit storage recovered")
                self.down_until = None
            count, ttl_ms = answer
            _remember(key, WindowStats(time.time() + max(ttl_ms, 0) / 1000, max(0, item.amount - count)))
            return count <= item.amount
        if identifiers and identifiers[-1].endswith(f":{STRICT_SCOPE}"):
            raise ServiceUnavailable("Rate limiting is unavailable, so this endpoint is closed "
                                     "for now. Try again shortly.", headers={"Retry-After": "5"})
        allowed = self.memory.hit(item, *identifiers, cost=cost)
        _remember(key, self.memory.get_window_stats(item, *identifiers))
        return allowed

    def get_window_stats(self, item, *identifiers: str) -> WindowStats:
        known = g.get("_ratelimit_windows", {}).get(item.key_for(*identifiers))
        return known or super().get_window_stats(item, *identifiers)
