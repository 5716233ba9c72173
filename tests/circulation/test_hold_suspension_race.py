"""Suspending a hold while its copy comes back, on PostgreSQL, in both orders (pinned
with a table lock, no sleeps): never a ready hold that is also suspended, never a
suspended hold made ready, never a copy given twice."""

from datetime import timedelta

import pytest

from api.circulation.holds import get_hold, place_hold
from api.circulation.loans import borrow, return_loan
from api.circulation.suspension import suspend_hold
from api.days.service import library_today
from api.errors import Conflict
from api.extensions import db
from api.models import Book, Loan, User
from tests.circulation.conftest import check_invariant
from tests.helpers import create_user
from tests.invariants.race import pinned

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("first", ["return", "suspend"])
def test_suspend_racing_a_return(app, make_book, first):
    lender, waiter = (create_user(app, name).id for name in ("lender", "waiter"))
    with app.app_context():
        loan_id = borrow(db.session, db.session.get(User, lender), make_book(copies=1)).id
        book_id = db.session.get(Loan, loan_id).book_id
        hold_id = place_hold(db.session, db.session.get(User, waiter), book_id).id
        later = library_today() + timedelta(days=3)

    def give_back():
        return return_loan(db.session, db.session.get(Loan, loan_id)).returned_at is not None

    def suspend():
        return suspend_hold(db.session, get_hold(db.session, hold_id), later).status

    # Both write holds under the book's lock: the first stops at that write holding
    # the lock, the second then waits for the lock.
    if first == "return":
        returned, suspended = pinned(app, give_back, suspend, table="holds")
    else:
        suspended, returned = pinned(app, suspend, give_back, table="holds")
    assert returned is True, returned
    with app.app_context():
        hold = get_hold(db.session, hold_id)
        shelf = db.session.get(Book, book_id).copies_available
        if first == "return":
            assert isinstance(suspended, Conflict) and suspended.code == "hold_not_waiting", suspended
            assert (hold.status, hold.suspended_until, shelf) == ("ready", None, 0)
        else:  # passed over: the copy is on the shelf
            assert suspended == "waiting", suspended
            assert (hold.status, hold.suspended_until, shelf) == ("waiting", later, 1)
        check_invariant(book_id)
