"""Authentication and role checks for views."""

from functools import wraps

from flask import g, request
from sqlalchemy import bindparam, select

from api import ratelimit_plan, tokens
from api.errors import Forbidden, Unauthorized
from api.extensions import db
from api.fields import MAX_ID, id_in_range  # noqa: F401  (MAX_ID: old import path)
from api.models import User


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send a token as 'Authorization: Bearer <token>'.")
    return token.strip()


def authenticate(kind: str = "access") -> tuple[User, dict]:
    """The user a valid, unrevoked token of `kind` names; 401 otherwise.

    The role and active flag come from the database on every request, never from
    the token, so demotion and deactivation take effect at once.
    """
    pending = ratelimit_plan.take_pending()
    try:
        claims = tokens.decode(bearer_token(), kind)
    except Unauthorized:
        if pending is not None:
            pending.send()  # a breach is a 429 before a bad token's 401, as without it
        raise
    if pending is None:
        revoked, user = tokens.is_revoked(claims), user_for_claims(claims)
    else:
        user, revoked = _user_while_checking(claims, pending)
    if revoked:
        raise Unauthorized("This token has been revoked.")
    g.current_user, g.token_claims = user, claims
    return user, claims


def _user_while_checking(claims: dict, pending: "ratelimit_plan.PendingHit") -> tuple[User, bool]:
    """user_for_claims and tokens.is_revoked, for a view marked first_trip_counts_limits
    (api/ratelimit_plan.py): the revocation keys ride in the request's pending
    rate-limit hit, which is sent before the user's SELECT and read after it, so the
    Redis and database round trips overlap. Its answer is read before the user's is
    acted on: a breach is a 429 before any 401 (though it now costs that one indexed
    read). Redis errors propagate (auth fails closed: 503)."""
    in_flight = pending.start(list(tokens.revocation_keys(claims)))
    try:
        user = user_for_claims(claims)
    finally:
        values = in_flight.finish()
    return user, any(value is not None for value in values)


# Built once: SQLAlchemy memoizes a statement's cache key, so every request runs this one
# without building and keying a SELECT again, as session.get() would (~50 µs a request).
_USER_BY_ID = select(User).where(User.id == bindparam("user_id"))


def user_for_claims(claims: dict) -> User:
    """The active user a decoded token names, if the token's version is still current."""
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError):
        raise Unauthorized() from None
    # Out-of-range ids would overflow SQLite's integer binding (a 500, not a 401).
    user = db.session.scalar(_USER_BY_ID, {"user_id": user_id}) if id_in_range(user_id) else None
    if user is None or not user.is_active or claims["ver"] != user.token_version:
        raise Unauthorized()
    return user


def login_required(view=None, *, role: str | None = None):
    """`@login_required` for any member, `@login_required(role="admin")` for admins."""

    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            user, _ = authenticate()
            if role is not None and user.role != role:
                raise Forbidden()
            return fn(*args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator


def admin_required(fn):
    return login_required(role="admin")(fn)


def current_user() -> User:
    return g.current_user


def staff_actor() -> int | None:
    """The caller's id when an admin acts (the audit log's actor of a staff action on a
    member's loan or hold), else None: a member's own acts are not staff actions."""
    user = current_user()
    return user.id if user.is_admin else None
