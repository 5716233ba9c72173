"""Interleavings pinned with a Gate (a SHARE lock on a table): the borrower stops
at its write to that table with its earlier locks held, the other transaction runs
into those locks, then the gate opens. Random thread races (as in
tests/circulation/test_concurrency.py) almost never hit these orders; here they
happen on every run.
"""

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, update

from api.books import service as books
from api.circulation import holds, loans
from api.clock import utcnow
from api.errors import ApiError, Conflict
from api.extensions import db
from api.models import Hold, Loan, User
from tests.invariants.checks import assert_invariants
from tests.invariants.race import lend, members, pinned, queue, statuses

pytestmark = pytest.mark.postgres


def borrow_returning_id(user_id: int, book_id: int) -> int:
    # The id without reloading the row: a reload would hide a deleted loan behind
    # ObjectDeletedError instead of letting the test look for it.
    return inspect(loans.borrow(db.session, db.session.get(User, user_id), book_id)).identity[0]


def kept_copy(app, book_id: int, uids: list[int], *, due: bool = False) -> list[int]:
    """uids[0] borrows the only copy, the rest queue, uids[0] returns: uids[1]'s hold
    is ready (past its pickup time if `due`). Returns the hold ids in queue order."""
    with app.app_context():
        loan_id = lend(uids[0], book_id)
        hold_ids = [queue(u, book_id) for u in uids[1:]]
        loans.return_loan(db.session, loans.get_loan(db.session, loan_id))
        if due:
            db.session.execute(update(Hold).where(Hold.id == hold_ids[0])
                               .values(expires_at=utcnow() - timedelta(minutes=1)))
            db.session.commit()
    return hold_ids


def no_server_errors(*results) -> None:
    # A deadlock or a vanished row surfaces as a non-API exception: a 500 or 503.
    failures = [r for r in results if isinstance(r, Exception) and not isinstance(r, ApiError)]
    assert not failures, failures


@pytest.mark.parametrize("copy", ["shelf", "kept"])
def test_deleting_a_book_behind_a_borrow_keeps_the_new_loan(app, make_book, copy):
    uids = members(app, 3, "del")
    book_id = make_book(copies=1)
    borrower = uids[1] if copy == "kept" else uids[0]
    if copy == "kept":
        kept_copy(app, book_id, uids)
    got, deleted = pinned(app, lambda: borrow_returning_id(borrower, book_id),
                          lambda: books.delete_book(db.session, book_id))
    no_server_errors(got, deleted)
    with app.app_context():
        kept = db.session.scalar(select(Loan.id).where(Loan.id == got))
        assert kept == got, f"borrow answered with loan {got}, which is gone"
        assert isinstance(deleted, Conflict), deleted
        assert_invariants()


@pytest.mark.parametrize("release", ["cancel", "expire"])
def test_borrowing_a_kept_copy_against_its_release_does_not_deadlock(app, make_book, release):
    uids = members(app, 3, "kept")
    book_id = make_book(copies=1)
    hold_ids = kept_copy(app, book_id, uids, due=release == "expire")
    if release == "cancel":
        def other():
            return holds.cancel_hold(db.session, holds.get_hold(db.session, hold_ids[0]))
    else:
        def other():
            return holds.expire_ready_holds(db.session)
    got, released = pinned(app, lambda: borrow_returning_id(uids[1], book_id), other)
    no_server_errors(got, released)
    # The borrower reached the hold first: they get the copy, and the other side
    # finds nothing left to release.
    assert isinstance(got, int), got
    assert released == 0 if release == "expire" else isinstance(released, Conflict), released
    with app.app_context():
        assert statuses(hold_ids) == ["fulfilled", "waiting"]
        assert_invariants()


def test_a_waiting_member_trying_to_borrow_while_the_copy_comes_back_does_not_deadlock(app, make_book):
    uids = members(app, 2, "wait")
    book_id = make_book(copies=1)
    with app.app_context():
        loan_id = lend(uids[0], book_id)
        (hold_id,) = [queue(uids[1], book_id)]
    # The waiting member presses "borrow" (no copy is free) just as the copy comes
    # back. borrow closes their waiting hold before it looks for a shelf copy, so
    # return, which serves that hold next, must not be left waiting on it forever.
    got, returned = pinned(app, lambda: borrow_returning_id(uids[1], book_id),
                           lambda: loans.return_loan(db.session, loans.get_loan(db.session, loan_id)).id,
                           table="books")
    no_server_errors(got, returned)
    assert isinstance(got, Conflict) and returned == loan_id, (got, returned)
    with app.app_context():
        assert statuses([hold_id]) == ["ready"]  # the copy is kept for them
        assert_invariants()
