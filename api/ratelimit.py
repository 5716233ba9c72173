"""Rate limits (Flask-Limiter on Redis). See README "Rate limits".

Flask-Limiter 4.1 keeps its storage and strategy on the Limiter object, so a second
app bound to the module-level `limiter` would silently take over the first one's
Redis. `AppLimiter` moves the strategy into `app.extensions["ratelimit"]`; limit
declarations (decorators, defaults, exemptions) stay shared, as they are code.

The strategy (api/ratelimit_window.py) is a fixed window costing one Redis round
trip per limit check, with the Redis-down policy: ordinary limits count in process
memory, login, register and password reset fail closed with a 503.
"""

import hashlib
import math
import time

from flask import Flask, current_app, g, has_app_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from redis.exceptions import RedisError

from api import ratelimit_plan
from api.errors import Unauthorized
from api.parsing import parsed_json
from api.ratelimit_window import STRICT_SCOPE, OneTripFixedWindow

EXEMPT_PATHS = ("/health", "/apidocs", "/apispec.json", "/flasgger_static")


class AppLimiter(Limiter):
    """Flask-Limiter with per-app storage and strict limits (see module docstring)."""

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        if app.config.get("RATELIMIT_ENABLED", True):
            strategy = OneTripFixedWindow(
                self._storage, float(app.config.get("RATELIMIT_STORAGE_RETRY_SECONDS", 5)))
            strategy.shares_cache_redis = app.config["RATELIMIT_STORAGE_URI"] == app.config["REDIS_URL"]
            app.extensions["ratelimit"] = strategy

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
            # By address even with a token: keyed per user, every account registered
            # would bring a fresh budget of registrations (and of reset emails).
            kwargs.setdefault("key_func", address_key)
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
    return address_key()


def address_key() -> str:
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
    lock out everyone behind the same address. The email in the form the login looks
    it up by: every spelling that finds the account (fullwidth letters, an ideographic
    full stop in the domain) counts against one budget."""
    from api.users.schemas import lookup_form  # the users package builds on the limiter

    body = parsed_json()
    email = body.get("email") if isinstance(body, dict) else None
    email = lookup_form(email) if isinstance(email, str) else ""
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
    ratelimit_plan.send_pending()  # a hit no round trip took along still counts
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
    # Added, not set: nothing else writes these (Flask-Limiter's own are off), and
    # setting each scans every header first. SPEC names the IETF `RateLimit` fields
    # (draft-ietf-httpapi-ratelimit-headers, reset in seconds from now); v1 clients
    # read the X- ones (reset as a Unix time), which stay.
    limit, left, wait = str(amount), str(remaining), math.ceil(reset_at - time.time())
    response.headers.extend((("X-RateLimit-Limit", limit), ("X-RateLimit-Remaining", left),
                             ("X-RateLimit-Reset", str(math.ceil(reset_at))), ("RateLimit-Limit", limit),
                             ("RateLimit-Remaining", left), ("RateLimit-Reset", str(max(0, wait)))))
    if response.status_code == 429:
        response.headers["Retry-After"] = str(max(1, wait))
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
