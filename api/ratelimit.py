"""Rate limits (Flask-Limiter on Redis). See README "Rate limits".

Flask-Limiter 4.1 keeps its storage and strategy on the Limiter object, so a second
app bound to the module-level `limiter` would silently take over the first one's
Redis. `AppLimiter` moves the strategy into `app.extensions["ratelimit"]`; limit
declarations (decorators, defaults, exemptions) stay shared, as they are code.

The strategy is a fixed window costing one Redis round trip per limit check: a Lua
script increments the counter and returns its TTL, and the response headers are
built from that answer instead of Flask-Limiter's extra GET + TTL per request.

Redis down: ordinary limits count in process memory (per worker, so looser but never
unlimited); login, register and password reset fail closed with a 503. Redis is
tried again after RATELIMIT_STORAGE_RETRY_SECONDS, so both recover without a restart.
"""

import hashlib
import logging
import math
import time

from flask import Flask, current_app, g, has_app_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from limits.util import WindowStats
from redis.exceptions import RedisError

from api import ratelimit_plan
from api.errors import ServiceUnavailable, Unauthorized
from api.parsing import load_json_or_none

log = logging.getLogger(__name__)

# Scope given to the limits that must hold even when Redis is down.
STRICT_SCOPE = "strict"
EXEMPT_PATHS = ("/health", "/apidocs", "/apispec.json", "/flasgger_static")

# INCRBY, EXPIRE on the first hit of a window, and PTTL, in one round trip.
_HIT_SCRIPT = """
local current = redis.call("incrby", KEYS[1], ARGV[2])
if tonumber(current) == tonumber(ARGV[2]) then
    redis.call("expire", KEYS[1], ARGV[1])
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

    def hit(self, item, *identifiers: str, cost: int = 1) -> bool:
        key = item.key_for(*identifiers)
        if self.down_until is None or time.monotonic() >= self.down_until:
            try:
                count, ttl_ms = self.script([self.storage.prefixed_key(key)],
                                            [item.get_expiry(), cost])
            except RedisError as e:
                if self.down_until is None:
                    log.warning("Rate-limit storage unreachable (%s): in-memory counters for "
                                "general limits, strict limits fail closed", e)
                self.down_until = time.monotonic() + self.retry_seconds
            else:
                if self.down_until is not None:
                    log.warning("Rate-limit storage recovered")
                    self.down_until = None
                reset = time.time() + max(ttl_ms, 0) / 1000
                _remember(key, WindowStats(reset, max(0, item.amount - count)))
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


class AppLimiter(Limiter):
    """Flask-Limiter with per-app storage and strict limits (see module docstring)."""

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        if app.config.get("RATELIMIT_ENABLED", True):
            app.extensions["ratelimit"] = OneTripFixedWindow(
                self._storage, float(app.config.get("RATELIMIT_STORAGE_RETRY_SECONDS", 5)))

    @property
    def limiter(self):
        if has_app_context() and "ratelimit" in current_app.extensions:
            return current_app.extensions["ratelimit"]
        return super().limiter

    @property
    def storage(self):
        return self.limiter.storage

    @property
    def enabled(self) -> bool:
        if has_app_context():
            return bool(current_app.config.get("RATELIMIT_ENABLED", True))
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._enabled = value

    def _check_request_limit(self, callable_name=None, in_middleware=True):
        # Flask-Limiter resolves limits and exemption scopes before it consults the
        # request filter; decide exempt paths (docs, probes) first, for free.
        if _exempt_path():
            return None
        if in_middleware and self.enabled:
            endpoint = self.identify_request()
            plan = ratelimit_plan.plan_for(self, endpoint, _limit_strings())
            if plan is not None:
                return ratelimit_plan.check(self, endpoint, plan)
        return super()._check_request_limit(callable_name, in_middleware)

    def limit(self, limit_value, **kwargs):
        if limit_value in (login_limit, register_limit, password_reset_limit):
            kwargs.setdefault("scope", STRICT_SCOPE)
            # The per-client default still applies on top: trying many emails from
            # one address is bounded too, not only many tries at one email.
            kwargs.setdefault("override_defaults", False)
        return super().limit(limit_value, **kwargs)


def rate_limit_key() -> str:
    """`user:<id>` for a request with a valid access token, else `addr:<client address>`.

    Only signature and expiry are checked (no database, no Redis): a forged token
    falls back to the address, so it cannot pick someone else's budget.
    """
    from api import tokens

    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        try:
            return f"user:{tokens.decode(token.strip(), 'access')['sub']}"
        except Unauthorized:
            pass
    return f"addr:{get_remote_address()}"


def default_limit() -> str:
    return current_app.config["RATELIMIT_DEFAULT"]


def _limit_strings() -> tuple:
    """What the limit providers answer now: a resolved plan is valid while it holds."""
    config = current_app.config
    return (config["RATELIMIT_DEFAULT"], config["RATELIMIT_LOGIN"], config["RATELIMIT_REGISTER"],
            config["RATELIMIT_PASSWORD_RESET"], config["RATELIMIT_ADMIN_TASKS"])


def login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def register_limit() -> str:
    return current_app.config["RATELIMIT_REGISTER"]


def password_reset_limit() -> str:
    return current_app.config["RATELIMIT_PASSWORD_RESET"]


def admin_tasks_limit() -> str:
    return current_app.config["RATELIMIT_ADMIN_TASKS"]


def login_key() -> str:
    """Login attempts are counted per (address, email): one attacked account does not
    lock out everyone behind the same address."""
    body = load_json_or_none()
    email = body.get("email") if isinstance(body, dict) else None
    email = email.strip().lower() if isinstance(email, str) else ""
    # Hashed so that a 64 KB "email" cannot become a 64 KB Redis key.
    digest = hashlib.sha256(email.encode("utf-8", "replace")).hexdigest()[:32]
    return f"login:{get_remote_address()}:{digest}"


limiter = AppLimiter(key_func=rate_limit_key, default_limits=[default_limit],
                     strategy="fixed-window", headers_enabled=False, swallow_errors=False,
                     in_memory_fallback_enabled=False)


@limiter.request_filter
def _exempt_path() -> bool:
    path = request.path
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in EXEMPT_PATHS)


def _rate_limit_headers(response):
    known = g.pop("_ratelimit_header", None)  # set by the fast path (api/ratelimit_plan.py)
    if known is not None:
        amount, (reset_at, remaining) = known
    else:
        current = limiter.current_limit
        if current is None:
            return response
        try:
            reset_at, remaining = current.window
        except RedisError:  # stats not seen during the hit; headers are not worth a 5xx
            return response
        amount = current.limit.amount
    response.headers["X-RateLimit-Limit"] = str(amount)
    response.headers["X-RateLimit-Remaining"] = str(remaining)
    response.headers["X-RateLimit-Reset"] = str(math.ceil(reset_at))
    if response.status_code == 429:
        response.headers["Retry-After"] = str(max(1, math.ceil(reset_at - time.time())))
    return response


def init_limiter(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    timeout = app.config["REDIS_SOCKET_TIMEOUT"]
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS",
                          {"socket_timeout": timeout, "socket_connect_timeout": timeout})
    # Flask-Limiter skips requests that match no route; probing for URLs (404, 405)
    # gets the default limit too, in one bucket per client.
    app.config.setdefault("RATELIMIT_REQUEST_IDENTIFIER", lambda: request.endpoint or "unmatched")
    limiter.init_app(app)
    app.after_request(_rate_limit_headers)
