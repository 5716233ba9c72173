"""The outbox worker's writes for one batch: one commit per message.

A message's outcome waits for the commit that flips the next row to `sending`
(`Ledger.flip`). On PostgreSQL a delivery's outcome and the next flip are a single
autocommit statement, the outcome UPDATE riding along as a data-modifying CTE: one
round trip per message (a failure's outcome goes as a statement of its own).
The statements of the common path (flip; sent) are built once with bind
parameters, so a message costs no SQLAlchemy statement construction.

Still at most once: a row is `sending`, durably, before its hand-off. Still never
lost: an outcome not yet committed when the worker dies leaves its row `sending`,
which the reaper reports as "outcome unknown", exactly as a death right after the
hand-off always did.
"""

from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, update

from api.models import Notification

T = Notification.__table__


def _param(name: str, column: str):
    return bindparam(name, type_=T.c[column].type)


@cache
def _flip_stmt():
    return (update(T).where(T.c.id == _param("f_id", "id"), T.c.state == "pending",
                            T.c.claimed_at == _param("f_claim", "claimed_at"))
            .values(state="sending", claimed_at=_param("f_ts", "claimed_at"))
            .returning(T.c.id))


@cache
def _sent_stmt(kept: tuple):
    """Sent, keeping `kept` (names of text columns to store: subject, body)."""
    return (update(T).where(T.c.id == _param("o_id", "id"),
                            T.c.claimed_at == _param("o_token", "claimed_at"))
            .values(state="sent", sent_at=_param("o_sent_at", "sent_at"), last_error=None,
                    attempts=T.c.attempts + 1, **{c: _param(f"o_{c}", c) for c in kept}))


@cache
def _sent_and_flip_stmt(kept: tuple):
    return _flip_stmt().add_cte(_sent_stmt(kept).returning(T.c.id).cte("outcome"))


def outcome(row_id: int, token: datetime, **values):
    """Any other outcome, keyed on our own claim timestamp: it also corrects a row the
    reaper gave up on while this worker was in fact still sending it."""
    return (update(T).where(T.c.id == row_id, T.c.claimed_at == token)
            .values(attempts=T.c.attempts + 1, **values)), None


def sent(row_id: int, token: datetime, sent_at: datetime, kept: dict):
    params = {"o_id": row_id, "o_token": token, "o_sent_at": sent_at,
              **{f"o_{c}": v for c, v in kept.items()}}
    return tuple(sorted(kept)), params


class Ledger:
    """Writes for one batch on one connection held for it: no pool check-out, and no
    pre-ping, per message."""

    def __init__(self, conn):
        self.conn, self.waiting = conn, []
        self.combine = conn.dialect.name == "postgresql"

    def record(self, entry) -> None:
        """`entry` from `outcome()` or `sent()`; written with the next commit."""
        self.waiting.append(entry)

    def flip(self, row_id: int, claim_ts: datetime, flip_ts: datetime) -> bool:
        params = {"f_id": row_id, "f_claim": claim_ts, "f_ts": flip_ts}
        waiting, self.waiting = self.waiting, []
        stmt = _flip_stmt()
        if self.combine and len(waiting) == 1 and isinstance(waiting[0][0], tuple):
            kept, sent_params = waiting[0]
            stmt, params = _sent_and_flip_stmt(kept), {**params, **sent_params}
        else:  # failures, and SQLite: the outcomes first, in the same transaction there
            for entry in waiting:
                self.conn.execute(*self._statement(entry))
        flipped = self.conn.execute(stmt, params).all()
        self.conn.commit()
        return len(flipped) == 1

    def flush(self) -> None:
        waiting, self.waiting = self.waiting, []
        for entry in waiting:
            self.conn.execute(*self._statement(entry))
        self.conn.commit()

    @staticmethod
    def _statement(entry):
        stmt, params = entry
        if isinstance(stmt, tuple):  # a sent() entry: its prebuilt statement
            return _sent_stmt(stmt), params
        return stmt, params
