"""Running jobs in threads released together, each with its own app context (so its
own session and database connection), for the PostgreSQL race tests."""

import threading
import time

from sqlalchemy import select, text

from api.circulation import holds, loans
from api.extensions import db
from api.models import Hold, User
from tests.helpers import create_user, race  # noqa: F401  (race re-exported)


def members(app, n: int, prefix: str) -> list[int]:
    return [create_user(app, f"{prefix}{i}").id for i in range(n)]


def lend(user_id: int, book_id: int) -> int:
    return loans.borrow(db.session, db.session.get(User, user_id), book_id).id


def queue(user_id: int, book_id: int) -> int:
    return holds.place_hold(db.session, db.session.get(User, user_id), book_id).id


def give_back(loan_id: int) -> int:
    return loans.return_loan(db.session, loans.get_loan(db.session, loan_id)).id


def cancel(hold_id: int) -> None:
    return holds.cancel_hold(db.session, holds.get_hold(db.session, hold_id))


def expire() -> int:
    return holds.expire_ready_holds(db.session)


def statuses(hold_ids) -> list[str]:
    return [db.session.scalar(select(Hold.status).where(Hold.id == h)) for h in hold_ids]


class Gate:
    """Pins one interleaving without sleeps: while the gate is shut (a SHARE lock on
    a table, from its own connection), any transaction that writes that table
    stops at the write with its earlier locks held. `wait_blocked` then waits until
    PostgreSQL reports a given statement as waiting on a lock."""

    def __init__(self, app, table: str):
        with app.app_context():
            self.engine = db.engine
        self.conn = self.engine.connect()
        self.conn.execute(text(f"LOCK TABLE {table} IN SHARE MODE"))

    def wait_blocked(self, n: int, deadline_s: float = 30) -> None:
        # A deadline only so a broken test fails instead of hanging; nothing is timed.
        give_up = time.monotonic() + deadline_s
        with self.engine.connect() as probe:
            while time.monotonic() < give_up:
                waiting = probe.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'")).scalar()
                probe.rollback()
                if waiting >= n:
                    return
        raise AssertionError(f"{n} sessions never waited on locks at once")

    def open(self) -> None:
        self.conn.commit()
        self.conn.close()


def start(app, job) -> tuple[threading.Thread, list]:
    """Run job() in a thread with its own app context; the list gets its result."""
    out = []

    def run():
        with app.app_context():
            try:
                out.append(job())
            except Exception as e:  # the test inspects it
                out.append(e)
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def pinned(app, first, second, table: str = "loans") -> tuple:
    """Run first() up to its write to `table`, then second() until it waits too,
    then let both go; returns (first's result, second's result)."""
    gate = Gate(app, table)
    try:
        t1, out1 = start(app, first)
        gate.wait_blocked(1)
        t2, out2 = start(app, second)
        gate.wait_blocked(2)
    finally:
        gate.open()
    for t in (t1, t2):
        t.join(60)
        assert not t.is_alive(), "a pinned transaction hung"
    return out1[0], out2[0]
