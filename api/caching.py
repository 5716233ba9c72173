"""Catalog cache on Redis. See README "Caching".

`init_cache` binds Flask-Caching (`api.extensions.cache`) for general use; catalog
reads go through `cached_catalog_read` below, on the app's Redis client.

Invalidation is by version: every cached catalog entry's key includes the current
catalog version, and a commit that changes what a catalog read returns bumps it.
Code that changes books or copies_available calls `mark_catalog_changed(session)`
inside its transaction; the bump happens only after the commit succeeds, so a
reader can never cache pre-commit data under the new version.
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable

from flask import Flask, Response, current_app, has_app_context, request
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

from api.extensions import cache

log = logging.getLogger(__name__)

VERSION_KEY = "catalog:version"


def init_cache(app: Flask) -> None:
    cache.init_app(app, config={
        "CACHE_TYPE": "RedisCache",
        "CACHE_REDIS_URL": app.config["REDIS_URL"],
        "CACHE_DEFAULT_TIMEOUT": app.config["CACHE_DEFAULT_TIMEOUT"],
        "CACHE_KEY_PREFIX": "cache:",
        "CACHE_OPTIONS": {"socket_timeout": app.config["REDIS_SOCKET_TIMEOUT"],
                          "socket_connect_timeout": app.config["REDIS_SOCKET_TIMEOUT"]},
    })


def mark_catalog_changed(session: Session) -> None:
    """Record that this transaction changes catalog reads (books, copies_available)."""
    session.info["catalog_dirty"] = True


def bump_catalog_version() -> None:
    from api.redis_client import get_redis

    get_redis().incr(VERSION_KEY)


@event.listens_for(Session, "after_commit")
def _bump_after_commit(session: Session) -> None:
    if not session.info.pop("catalog_dirty", False) or not has_app_context():
        return
    try:
        bump_catalog_version()
    except Exception:
        current_app.logger.error("Could not bump the catalog version; cached reads may be stale "
                                 "until CACHE_DEFAULT_TIMEOUT", exc_info=True)


@event.listens_for(Session, "after_rollback")
def _forget_catalog_change(session: Session) -> None:
    session.info.pop("catalog_dirty", None)


# --- Read side -------------------------------------------------------------------
#
# Entries are JSON (not Flask-Caching's pickle, so what is read back from Redis is
# only ever data) holding the serialised body, its ETag and the Link header, never
# anything per-user (rate-limit headers are added after the cache). The key covers
# the catalog version, the endpoint, the host (Link URLs are absolute) and the raw
# query string with its pairs sorted: `?a=1&b=2` and `?b=2&a=1` share an entry, two
# different query strings never do. Views validate the query string first, so a
# bad query is refused before it can reach the cache.

CACHE_CONTROL = "public, no-cache"
_KEPT_HEADERS = ("Link",)


def _entry_key(version: str) -> str:
    pairs = sorted(request.args.items(multi=True))
    fingerprint = hashlib.sha256(json.dumps([request.host_url, pairs]).encode()).hexdigest()
    return f"cache:catalog:v{version}:{request.endpoint}:{request.view_args or {}}:{fingerprint}"


def _etag(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def cached_catalog_read(build: Callable[[], Response]) -> Response:
    """Serve a catalog GET from Redis, or `build()` it from the database and store it.

    A hit never touches the database. Redis errors fail open: the read is built
    from the database and one line is logged.
    """
    from api.redis_client import get_redis

    redis, state = get_redis(), current_app.extensions.setdefault("catalog_cache", {})
    key = entry = None
    # After a failure Redis is left alone for CACHE_RETRY_SECONDS, so a hung server
    # costs one socket timeout per interval rather than one per read.
    if time.monotonic() >= state.get("down_until", 0):
        try:
            key = _entry_key(redis.get(VERSION_KEY) or "0")
            cached = redis.get(key)
            entry = json.loads(cached) if cached else None
        except RedisError as e:
            _cache_failed(state, "Catalog cache unavailable, reading from the database: %s", e)
    if entry is None:
        response = build()
        body = response.get_data(as_text=True)
        entry = {"body": body, "etag": _etag(body),
                 "headers": {h: response.headers[h] for h in _KEPT_HEADERS if h in response.headers}}
        if key is not None and response.status_code == 200:
            try:
                redis.set(key, json.dumps(entry), ex=current_app.config["CACHE_DEFAULT_TIMEOUT"])
            except RedisError as e:
                _cache_failed(state, "Catalog cache unavailable, not storing: %s", e)
    return _conditional(entry)


def _cache_failed(state: dict, message: str, error: Exception) -> None:
    log.warning(message, error)
    state["down_until"] = time.monotonic() + current_app.config.get("CACHE_RETRY_SECONDS", 5)


def _conditional(entry: dict) -> Response:
    response = Response(entry["body"], status=200, mimetype="application/json",
                        headers=entry["headers"])
    response.set_etag(entry["etag"])
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response.make_conditional(request)
