"""JWT access and refresh tokens (PyJWT, HS256 pinned, required claims).

A login starts a token *family* (`fam`): each refresh rotates the pair inside the
family, and logout revokes the family, so the refresh token issued with an access
token dies with it. Redis holds the revocations with the token's remaining lifetime
as TTL; the database holds `token_version`, which outdates every token of a user.
"""

import uuid
from datetime import timedelta

import jwt
from flask import current_app, has_request_context, request

from api.clock import utcnow
from api.errors import Unauthorized
from api.models import User
from api.redis_client import get_redis

ALGORITHM = "HS256"
# Tolerated clock skew for tokens issued "in the future" by another server.
IAT_LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "type", "fam", "ver"]


def _encode(user: User, kind: str, family: str, lifetime: timedelta) -> tuple[str, dict]:
    now = utcnow()
    claims = {
        "sub": str(user.id),
        "type": kind,
        "jti": uuid.uuid4().hex,
        "fam": family,
        "ver": user.token_version,
        "iat": now,
        "exp": now + lifetime,
    }
    token = jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm=ALGORITHM)
    return token, claims


def issue_pair(user: User, family: str | None = None) -> dict:
    cfg = current_app.config
    family = family or uuid.uuid4().hex
    access_life = timedelta(minutes=cfg["ACCESS_TOKEN_MINUTES"])
    access, _ = _encode(user, "access", family, access_life)
    refresh, _ = _encode(user, "refresh", family, timedelta(days=cfg["REFRESH_TOKEN_DAYS"]))
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": int(access_life.total_seconds()),
    }


def decode(token: str, kind: str) -> dict:
    """Verify signature, expiry, claims and type; raise 401 on anything off.

    Within a request the verified claims are kept (in its WSGI environ, which lives
    exactly as long as the request): the rate-limit key and authentication both
    decode the same token, and each check costs ~70 µs."""
    if not has_request_context():
        return _verify(token, kind)
    verified = request.environ.setdefault("library.verified_tokens", {})
    if (token, kind) not in verified:
        verified[token, kind] = _verify(token, kind)
    return verified[token, kind]


def _verify(token: str, kind: str) -> dict:
    try:
        claims = jwt.decode(
            token,
            current_app.config["SECRET_KEY"],
            algorithms=[ALGORITHM],
            # Times are checked below against api.clock, the app's one source of "now"
            # (PyJWT would read the system clock, which tests cannot move).
            options={"require": REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidTokenError:
        raise Unauthorized() from None
    now = utcnow().timestamp()
    exp, iat = claims["exp"], claims["iat"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (exp, iat)):
        raise Unauthorized()
    if exp <= now or iat > now + IAT_LEEWAY_SECONDS:
        raise Unauthorized()
    if claims.get("type") != kind:
        raise Unauthorized(f"An {kind} token is required here.")
    return claims


def _ttl(claims: dict) -> int:
    return max(int(claims["exp"] - utcnow().timestamp()) + 1, 1)


def revocation_keys(claims: dict) -> tuple[str, str]:
    return f"revoked:jti:{claims['jti']}", f"revoked:fam:{claims['fam']}"


def is_revoked(claims: dict) -> bool:
    # One round trip for both keys. Redis errors propagate: auth fails closed (503).
    return get_redis().exists(*revocation_keys(claims)) > 0


def family_revoked(claims: dict) -> bool:
    return get_redis().exists(f"revoked:fam:{claims['fam']}") > 0


def revoke_family(claims: dict) -> None:
    lifetime = int(timedelta(days=current_app.config["REFRESH_TOKEN_DAYS"]).total_seconds())
    get_redis().set(f"revoked:fam:{claims['fam']}", 1, ex=lifetime)


def consume_refresh(claims: dict) -> bool:
    """Mark a refresh token used; False if it was used before (rotation: once only)."""
    return bool(get_redis().set(f"revoked:jti:{claims['jti']}", 1, ex=_ttl(claims), nx=True))
