"""Pooled PostgreSQL connections checked without a round trip.

SQLAlchemy's pool_pre_ping sends `SELECT 1` on every checkout: one more round trip on
every request, about as long as a catalog page's own query. A pooled connection is
idle, so the server has nothing to say on it unless it is going away: a terminated
backend, a restart or a failover sends its FATAL message and closes the socket. So
the socket is polled instead (no I/O); only when it has something to read is the
connection pinged, and one whose ping fails is replaced (DisconnectionError makes
the pool open a new one). What this cannot see is a peer that vanished without a
word (a host powered off mid-conversation): that request fails with the usual 503
and the connection is dropped (README "Deploy").
"""

import select

from flask import Flask
from sqlalchemy import event
from sqlalchemy.exc import InvalidatePoolError


def init_connection_checks(app: Flask) -> None:
    from api.extensions import db

    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        return  # SQLite: a file, nothing to lose between requests
    dialect = engine.dialect

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection, record, _proxy):
        if "checked_out" not in record.info:
            record.info["checked_out"] = True  # just connected (info is new with each connection)
            return
        try:
            alive = not dbapi_connection.closed and (
                not _readable(dbapi_connection.pgconn.socket) or dialect.do_ping(dbapi_connection))
        except dialect.loaded_dbapi.Error:
            alive = False
        if not alive:  # as pre-ping does: the others likely went too (a restart)
            raise InvalidatePoolError("the server closed this pooled connection")


def _readable(fd: int) -> bool:
    """Whether the socket has data or an end-of-file waiting (a zero-timeout poll)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))
