"""Catalog cache on Redis, through Flask-Caching (`api.extensions.cache`). See README
"Caching".

Invalidation is by version: the catalog version is one Redis integer, and every
cached entry records the version it was built at. Code that changes books or
copies_available calls `mark_catalog_changed(session)` inside its transaction; the
version is bumped only after the commit succeeds. A hit is ONE Redis round trip:
`cache.get_many(version, entry)` is one MGET, and the entry counts only if it was
built at the current version. With the limiter on, that round trip also carries the
request's rate-limit hit (api/ratelimit_plan.py, `_lookup` below).
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable

from flask import Flask, Response, current_app, has_app_context, request
from flask_caching.backends.rediscache import RedisCache
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

from api import ratelimit_plan
from api.after_response import after_response
from api.errors import problem
from api.extensions import cache

log = logging.getLogger(__name__)

VERSION_KEY = "catalog:version"


class JSONSerializer:
    """Entries as JSON, never pickles: what is read back from Redis is only ever
    data. Integers stay plain ASCII so INCR works on them (the catalog version).

    A dict with a str "body" (a catalog entry) is stored as the JSON of its other
    keys, a newline, then the body as it is: a hit parses a line of JSON rather than
    the whole page escaped inside a JSON string (≈ 6× less CPU for 20 books), and
    hands the body on as bytes. Compact JSON has no raw newline, so the first one
    is the split.
    """

    def dumps(self, value) -> bytes:
        if type(value) is int:
            return str(value).encode("ascii")
        if isinstance(value, dict) and isinstance(value.get("body"), str):
            head = {k: v for k, v in value.items() if k != "body"}
            return _compact(head) + b"\n" + value["body"].encode()
        return _compact(value)

    def loads(self, value: bytes | None):
        if value is None:
            return None
        if value[:1] not in (b"{", b"["):
            return int(value)
        head, newline, body = value.partition(b"\n")
        data = json.loads(head)
        if newline:
            data["body"] = body
        return data


def _compact(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class JSONRedisCache(RedisCache):
    """Flask-Caching's Redis backend with the JSON serializer (CACHE_TYPE names it)."""

    serializer = JSONSerializer()


def init_cache(app: Flask) -> None:
    cache.init_app(app, config={
        "CACHE_TYPE": "api.caching.JSONRedisCache",
        "CACHE_REDIS_URL": app.config["REDIS_URL"],
        "CACHE_DEFAULT_TIMEOUT": app.config["CACHE_DEFAULT_TIMEOUT"],
        # No prefix: the version key is "catalog:version", entries "cache:catalog:…".
        "CACHE_KEY_PREFIX": "",
        "CACHE_OPTIONS": {"socket_timeout": app.config["REDIS_SOCKET_TIMEOUT"],
                          "socket_connect_timeout": app.config["REDIS_SOCKET_TIMEOUT"]},
    })


def mark_catalog_changed(session: Session) -> None:
    """Record that this transaction changes catalog reads (books, copies_available)."""
    session.info["catalog_dirty"] = True


def bump_catalog_version() -> None:
    cache.cache.inc(VERSION_KEY)


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
# An entry holds the serialised body, its ETag, the Link header and the version it
# was built at, never anything per-user (rate-limit headers are added after the
# cache). The key covers the endpoint, the view arguments, the host (Link URLs are
# absolute) and the query pairs, sorted: `?a=1&b=2` and `?b=2&a=1` share an entry,
# two different query strings never do. Only 200s are stored, so a view may ask the
# cache before it loads its query string: a hit's pairs were valid when stored.

CACHE_CONTROL = "public, no-cache"
_KEPT_HEADERS = ("Link",)


def _entry_key() -> str:
    req = request._get_current_object()
    view_args = req.view_args or {}
    # What request.host_url is made of, without building the URL.
    origin = (req.scheme, req.host, req.root_path)
    # The key is a function of these alone, so for a short query string the parse,
    # sort, JSON and hash are done once per distinct query, not on every hit.
    query = req.environ.get("QUERY_STRING", "")
    memo = (req.endpoint, tuple(view_args.items()), origin, query)
    key = _keys.get(memo)
    if key is None:
        pairs = sorted(req.args.items(multi=True))
        fingerprint = hashlib.sha256(json.dumps([origin, pairs]).encode()).hexdigest()
        key = f"cache:catalog:{req.endpoint}:{view_args}:{fingerprint}"
        if len(query) <= _MEMO_QUERY_CHARS:
            if len(_keys) >= _KEYS_KEPT:
                _keys.clear()
            _keys[memo] = key
    return key


# At most 4,096 keys of queries up to 256 characters per process (≈ 2 MB).
_KEYS_KEPT, _MEMO_QUERY_CHARS = 4096, 256
_keys: dict[tuple, str] = {}


def _etag(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def cached_catalog_read(build: Callable[[], Response]) -> Response:
    """Serve a catalog GET from Redis, or `build()` it from the database and store it
    once the response is sent (api/after_response.py).

    A hit is one MGET and never touches the database. The version is read before
    `build()` queries, so an entry built from data a concurrent commit is changing
    is stored under the version that commit then bumps past: nobody uses it. Redis
    errors fail open: the read is built from the database and one line is logged.
    """
    state = current_app.extensions.setdefault("catalog_cache", {})
    key = version = None
    entry = None
    pending = ratelimit_plan.take_pending()
    # After a failure Redis is left alone for CACHE_RETRY_SECONDS, so a hung server
    # costs one socket timeout per interval rather than one per read.
    if time.monotonic() >= state.get("down_until", 0):
        key = _entry_key()
        try:
            version, entry = _lookup(key, pending)
        except RedisError as e:
            key = None
            _cache_failed(state, "Catalog cache unavailable, reading from the database: %s", e)
        version = version or 0
        if entry is not None and entry.get("v") != version:
            entry = None  # built before the last catalog change
    elif pending is not None:
        pending.send()
    if entry is not None:
        return _conditional(entry)
    built = build()
    body = built.get_data(as_text=True)
    entry = {"v": version, "body": body, "etag": _etag(body),
             "headers": {h: built.headers[h] for h in _KEPT_HEADERS if h in built.headers}}
    response = _conditional(entry)
    if key is not None and built.status_code == 200:
        # Stored once the client has its page: a read arriving meanwhile builds its
        # own, and the version in the entry keeps a late store from ever being stale.
        after_response(response, _store, cache.cache, key, entry, state,
                       current_app.config.get("CACHE_RETRY_SECONDS", 5))
    return response


def _store(backend: RedisCache, key: str, entry: dict, state: dict, retry_seconds: float) -> None:
    try:
        backend.set(key, entry)
    except RedisError as e:
        _cache_failed(state, "Catalog cache unavailable, not storing: %s", e, retry_seconds)


def _lookup(key: str, pending: "ratelimit_plan.PendingHit | None") -> list:
    """[version, entry]: one MGET, or, with a pending rate-limit hit, the values that
    hit's one command reads along (api/ratelimit_plan.py); a breach raises here,
    before any work."""
    if pending is None:
        return cache.get_many(VERSION_KEY, key)
    backend = cache.cache
    prefix = backend._get_prefix()
    values = pending.hit_and_read([prefix + VERSION_KEY, prefix + key])
    return [backend.serializer.loads(value) for value in values]


def _cache_failed(state: dict, message: str, error: Exception, retry_seconds: float | None = None) -> None:
    log.warning(message, error)
    if retry_seconds is None:
        retry_seconds = current_app.config.get("CACHE_RETRY_SECONDS", 5)
    state["down_until"] = time.monotonic() + retry_seconds


# Request headers that can make a GET answer other than a plain 200 (304, 412, 206).
_CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE",
                "HTTP_IF_UNMODIFIED_SINCE", "HTTP_RANGE")


def _conditional(entry: dict) -> Response:
    headers = [("ETag", f'"{entry["etag"]}"'), ("Cache-Control", CACHE_CONTROL),
               *entry["headers"].items()]
    response = Response(entry["body"], status=200, mimetype="application/json", headers=headers)
    environ = request.environ
    if any(name in environ for name in _CONDITIONAL):
        response = response.make_conditional(request)
        if response.status_code == 412:  # an error like any other, not the page with a 412
            return problem(412, "The resource does not match If-Match or If-Unmodified-Since.",
                           headers={"ETag": response.headers["ETag"]})
    return response
