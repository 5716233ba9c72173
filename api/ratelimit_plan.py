"""The limiter's fast path: limits resolved and parsed once per endpoint, not per request.

Flask-Limiter resolves every request's limits from scratch: it walks the route,
blueprint and default declarations, calls each limit provider and re-parses its
string (`limits.parse_many`), and builds a set of limits already seen. For a
route that only the default limits cover (no decorator, no blueprint limit, no
exemption: every catalog read) the answer only changes when the limit strings
do, so `plan_for` keeps it per app, endpoint, method and limit strings, and
`check` does what Flask-Limiter's evaluation does for such limits: one hit per
limit (one Redis round trip each, api.ratelimit.OneTripFixedWindow), the
limit for the headers, and RateLimitExceeded on a breach. Anything else (login,
register, admin tasks, meta limits, callbacks) returns None and takes
Flask-Limiter's full path.
"""

from flask import current_app, g, request
from flask_limiter import RateLimitExceeded
from flask_limiter._extension import RequestLimit
from flask_limiter.util import get_qualified_name

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
    view_limits, breached = [], None
    for lim in plan:
        args = [lim.key_func(), lim.scope_for(endpoint, request.method)]
        if limiter._key_prefix:
            args = [limiter._key_prefix, *args]
        request_limit = RequestLimit(limiter, lim.limit, args, False, lim.shared)
        view_limits.append(request_limit)
        if not limiter.limiter.hit(lim.limit, *args, cost=lim.cost):
            request_limit.breached = True
            breached = lim, request_limit
            if limiter._fail_on_first_breach:
                break
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
