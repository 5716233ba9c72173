"""The limiter's fast path: limits resolved and parsed once per endpoint, not per request.

Flask-Limiter resolves every request's limits from scratch: it walks the route,
blueprint and default declarations, calls each limit provider and re-parses its
string (`limits.parse_many`), and builds a set of limits already seen. For a
route that only the default limits cover (no decorator, no blueprint limit, no
exemption: every catalog read) the answer only changes when the limit strings
do, so `plan_for` keeps it per app, endpoint, method and limit strings, and
`check` does what Flask-Limiter's evaluation does for such limits: one hit per
limit (one Redis round trip each, api.ratelimit_window.OneTripFixedWindow), the
limit for the headers, and RateLimitExceeded on a breach. Anything else (login,
register, admin tasks, meta limits, callbacks) returns None and takes
Flask-Limiter's full path.
"""

from contextlib import suppress

from flask import current_app, g, request
from flask_limiter import RateLimitExceeded
from flask_limiter._extension import RequestLimit
from flask_limiter.util import get_qualified_name
from redis.exceptions import RedisError, ResponseError

NO_PLAN = ()


def plan_for(limiter, endpoint: str, limit_strings: tuple) -> tuple | None:
    """The default limits that alone apply to this request, or None (full path)."""
    plans = current_app.extensions.setdefault("ratelimit_plans", {})
    key = (endpoint, request.blueprint, request.method, limit_strings)
    plan = plans.get(key)
    if plan is None:
        plan = plans[key] = _resolve(limiter, endpoint) or NO_PLAN
    return plan or None


def _resolve(limiter, endpoint: str) -> tuple:
    view = current_app.view_functions.get(request.endpoint or "")
    name = get_qualified_name(view) if view else ""
    manager, blueprint = limiter.limit_manager, request.blueprint
    if (endpoint.split(".")[-1] == "static" or name in limiter._marked_for_limiting
            or manager.has_hints(endpoint) or limiter._meta_limits or limiter._on_breach
            or manager.application_limits
            or manager.exemption_scope(current_app, endpoint, blueprint)
            or (blueprint and manager.blueprint_limits(current_app, blueprint))):
        return NO_PLAN
    limits = tuple(sorted(manager.default_limits, key=lambda lim: lim.limit))
    if not limits or any(lim.exempt_when or lim.deduct_when or lim.on_breach or lim.meta_limits
                         or lim.methods or callable(lim.cost) or callable(lim.scope)
                         for lim in limits):
        return NO_PLAN
    return limits


def check(limiter, endpoint: str, plan: tuple) -> None:
    """Hit each limit of the plan (as Flask-Limiter's evaluation would for it)."""
    if len(plan) == 1 and _first_trip_ahead(limiter.limiter):
        g._ratelimit_pending = PendingHit(limiter, plan[0], _args(limiter, plan[0], endpoint))
        return
    view_limits, breached = [], None
    for lim in plan:
        args = _args(limiter, lim, endpoint)
        request_limit = RequestLimit(limiter, lim.limit, args, False, lim.shared)
        view_limits.append(request_limit)
        if not limiter.limiter.hit(lim.limit, *args, cost=lim.cost):
            request_limit.breached = True
            breached = lim, request_limit
            if limiter._fail_on_first_breach:
                break
    _conclude(limiter, view_limits, breached)


def _args(limiter, lim, endpoint: str) -> list:
    args = [lim.key_func(), lim.scope_for(endpoint, request.method)]
    return [limiter._key_prefix, *args] if limiter._key_prefix else args


def _conclude(limiter, view_limits: list, breached) -> None:
    if breached:
        shown = breached[1]
    else:
        explicit = [limit for limit in view_limits if not limit.shared]
        shown = explicit[0] if explicit else view_limits[0]
    context = limiter.context
    context.view_rate_limit, context.view_rate_limits = shown, view_limits
    # The header values, straight from the hit's answer (api.ratelimit._rate_limit_headers).
    stats = g.get("_ratelimit_windows", {}).get(shown.key)
    if stats is not None:
        g._ratelimit_header = (shown.limit.amount, stats)
    if breached:
        raise RateLimitExceeded(breached[0])


# --- One command for the limit and the view's first read --------------------------
#
# A view marked `first_trip_counts_limits` begins with a Redis read of its own (the
# catalog cache's version and entry, api/caching.py). Its single default limit is
# not hit in before_request: the hit is left pending and carries that read, as the
# keys the hit's script also returns (one EVALSHA, api/ratelimit_window.py). The
# view settles it before it does anything else, so a breach is still a 429 before
# any work. One Redis command per limit, and no command of the view's own: one
# round trip, without a pipeline's bookkeeping (≈ 15 µs of client CPU).

def first_trip_counts_limits(view):
    view.first_trip_counts_limits = True
    return view


def _first_trip_ahead(strategy) -> bool:
    view = current_app.view_functions.get(request.endpoint)
    return (getattr(view, "first_trip_counts_limits", False) and request.method in ("GET", "HEAD")
            and strategy.shares_cache_redis and strategy.redis_up())


def take_pending() -> "PendingHit | None":
    """This request's pending hit, for the round trip that will carry it."""
    return g.pop("_ratelimit_pending", None)


def send_pending() -> None:
    """A pending hit that no round trip carried (an OPTIONS request, a view that failed
    first) is counted now; the response is already decided."""
    pending = take_pending()
    if pending is not None:
        with suppress(RateLimitExceeded):
            pending.send()


class PendingHit:
    def __init__(self, limiter, lim, args: list):
        self.limiter, self.lim, self.args = limiter, lim, args
        self.strategy = limiter.limiter

    def hit_and_read(self, keys: list) -> list:
        """The hit, carrying a read of `keys` (their values, as MGET answers them).
        Raises RateLimitExceeded on a breach; a Redis error is raised after the hit
        is counted as the strategy counts it when Redis is down. A lost script (after
        a Redis restart) is loaded again by redis-py's Script and the call repeated."""
        strategy, item = self.strategy, self.lim.limit
        try:
            answer = strategy.script(
                [strategy.redis_key(item, self.args), *keys], [item.get_expiry(), self.lim.cost])
        except RedisError as e:
            self.failed(e)
            raise
        return self.answered(answer)

    def answered(self, answer: list) -> list:
        """Settle the hit from the script's answer; the values it read along."""
        count, ttl_ms, values = answer
        self._conclude(self.strategy.settle(self.lim.limit, self.args, self.lim.cost, (count, ttl_ms)))
        return values

    def start(self, keys: list) -> "InFlight":
        """The hit, carrying a read of `keys`, sent without waiting for its answer, so
        that a round trip of the caller's own (a database read) overlaps it;
        `InFlight.finish()` reads the answer and concludes as hit_and_read does."""
        strategy, item = self.strategy, self.lim.limit
        pool = strategy.script.registered_client.connection_pool
        connection = None
        try:
            connection = pool.get_connection()
            connection.send_command("EVALSHA", strategy.script.sha, 1 + len(keys),
                                    strategy.redis_key(item, self.args), *keys,
                                    item.get_expiry(), self.lim.cost)
        except RedisError:
            if connection is not None:
                connection.disconnect()
                pool.release(connection)
            connection = None  # finish() takes the ordinary path, which reports the failure
        return InFlight(self, keys, pool, connection)

    def failed(self, error: Exception) -> None:
        """The round trip failed: Redis is left alone, and the hit counts in memory."""
        self.strategy.redis_failed(error)
        self._conclude(self.strategy.settle(self.lim.limit, self.args, self.lim.cost, None))

    def send(self) -> None:
        """The hit in a round trip of its own."""
        self._conclude(self.strategy.hit(self.lim.limit, *self.args, cost=self.lim.cost))

    def _conclude(self, allowed: bool) -> None:
        request_limit = RequestLimit(self.limiter, self.lim.limit, self.args, not allowed, self.lim.shared)
        _conclude(self.limiter, [request_limit], None if allowed else (self.lim, request_limit))


class InFlight:
    """A hit sent by PendingHit.start and not yet answered."""

    def __init__(self, pending: PendingHit, keys: list, pool, connection):
        self.pending, self.keys, self.pool, self.connection = pending, keys, pool, connection

    def finish(self) -> list:
        """The values of the keys; raises as PendingHit.hit_and_read does. An answer
        that cannot be read (a lost script after a Redis restart, a dropped connection)
        sends the hit again the ordinary way, with redis-py's retry and reload."""
        connection, self.connection = self.connection, None
        if connection is None:
            return self.pending.hit_and_read(self.keys)
        try:
            answer = connection.read_response()
        except ResponseError:  # a lost script (NOSCRIPT): the connection itself is sound
            answer = None
        except RedisError:  # the connection may be broken: not reused as it is
            connection.disconnect()
            answer = None
        finally:
            self.pool.release(connection)  # first: the second try takes a connection too
        if answer is None:
            return self.pending.hit_and_read(self.keys)
        return self.pending.answered(answer)
