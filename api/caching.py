"""Catalog cache on Redis (Flask-Caching). See README "Caching".

Invalidation is by version: every cached catalog entry's key includes the current
catalog version, and a commit that changes what a catalog read returns bumps it.
Code that changes books or copies_available calls `mark_catalog_changed(session)`
inside its transaction; the bump happens only after the commit succeeds, so a
reader can never cache pre-commit data under the new version.
"""

import logging

from flask import Flask, current_app, has_app_context
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
