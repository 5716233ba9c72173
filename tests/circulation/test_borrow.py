"""Domain rules for borrowing, returning and renewing (no HTTP)."""

from datetime import timedelta

import pytest

from api import clock
from api.circulation.desk import set_due_at
from api.circulation.loans import borrow, renew, return_loan
from api.clock import utcnow
from api.errors import BadRequest, Conflict, NotFound
from api.extensions import db
from api.models import User
from tests.circulation.conftest import book_state, check_invariant


def test_borrow_takes_a_copy_and_sets_the_due_date(app_ctx, users, make_book):
    (alice,) = users(1)
    book_id = make_book(copies=2)
    loan = borrow(db.session, alice, book_id)
    assert loan.id and loan.status == "active" and loan.renewals == 0
    assert loan.due_at - loan.borrowed_at == timedelta(days=app_ctx.config["LOAN_PERIOD_DAYS"])
    assert book_state(book_id) == 1
    check_invariant(book_id)


def test_no_free_copy_is_409(app_ctx, users, make_book):
    alice, bob = users(2)
    book_id = make_book(copies=1)
    borrow(db.session, alice, book_id)
    with pytest.raises(Conflict, match="No copy"):
        borrow(db.session, bob, book_id)
    check_invariant(book_id)


def test_same_book_twice_is_409(app_ctx, users, make_book):
    (alice,) = users(1)
    book_id = make_book(copies=3)
    borrow(db.session, alice, book_id)
    with pytest.raises(Conflict, match="already has this book"):
        borrow(db.session, alice, book_id)
    assert book_state(book_id) == 2
    check_invariant(book_id)


def test_loan_limit_is_409(app_ctx, users, make_book):
    (alice,) = users(1)
    limit = app_ctx.config["MAX_ACTIVE_LOANS"]
    for _ in range(limit):
        borrow(db.session, alice, make_book())
    extra = make_book()
    with pytest.raises(Conflict, match="most allowed"):
        borrow(db.session, alice, extra)
    assert book_state(extra) == 1


def test_overdue_loan_blocks_borrowing(app_ctx, users, make_book):
    (alice,) = users(1)
    loan = borrow(db.session, alice, make_book())
    clock.advance(timedelta(days=15))
    assert loan.status == "overdue"
    with pytest.raises(Conflict, match="overdue"):
        borrow(db.session, alice, make_book())
    return_loan(db.session, loan)
    borrow(db.session, alice, make_book())


def test_unknown_book_is_404_and_inactive_member_409(app_ctx, users, make_book):
    (alice,) = users(1)
    for bad in (999, 0, -1, 10**30):
        with pytest.raises(NotFound):
            borrow(db.session, alice, bad)
    alice.is_active = False
    db.session.commit()
    with pytest.raises(Conflict, match="deactivated"):
        borrow(db.session, alice, make_book())


def test_due_at_must_be_in_the_future(app_ctx, users, make_book):
    (alice,) = users(1)
    book_id = make_book()
    with pytest.raises(BadRequest):
        borrow(db.session, alice, book_id, due_at=utcnow() - timedelta(minutes=1))
    due = utcnow() + timedelta(days=3)
    assert borrow(db.session, alice, book_id, due_at=due).due_at == due


def test_return_twice_is_409(app_ctx, users, make_book):
    (alice,) = users(1)
    book_id = make_book()
    loan = borrow(db.session, alice, book_id)
    returned = return_loan(db.session, loan)
    assert returned.status == "returned" and returned.returned_at is not None
    with pytest.raises(Conflict, match="already been returned"):
        return_loan(db.session, loan)
    assert book_state(book_id) == 1
    check_invariant(book_id)


def test_renew_until_the_limit(app_ctx, users, make_book):
    (alice,) = users(1)
    loan = borrow(db.session, alice, make_book())
    period = timedelta(days=app_ctx.config["LOAN_PERIOD_DAYS"])
    first_due = loan.due_at
    for n in range(1, app_ctx.config["MAX_RENEWALS"] + 1):
        renewed = renew(db.session, loan)
        assert renewed.renewals == n and renewed.due_at == first_due + n * period
    with pytest.raises(Conflict, match="most allowed"):
        renew(db.session, loan)


def test_renew_refused_when_overdue_or_returned(app_ctx, users, make_book):
    (alice,) = users(1)
    loan = borrow(db.session, alice, make_book())
    clock.advance(timedelta(days=15))
    with pytest.raises(Conflict, match="overdue"):
        renew(db.session, loan)
    return_loan(db.session, loan)
    with pytest.raises(Conflict, match="returned"):
        renew(db.session, loan)


def test_renew_blocked_by_another_members_hold(app_ctx, users, make_book):
    from api.circulation.holds import place_hold

    alice, bob = users(2)
    loan = borrow(db.session, alice, make_book(copies=1))
    place_hold(db.session, bob, loan.book_id)
    with pytest.raises(Conflict, match="waiting"):
        renew(db.session, loan)


def test_admin_sets_due_at(app_ctx, users, make_book):
    (alice,) = users(1)
    loan = borrow(db.session, alice, make_book())
    later = utcnow() + timedelta(days=40)
    assert set_due_at(db.session, loan, later).due_at == later
    with pytest.raises(BadRequest):
        set_due_at(db.session, loan, utcnow() - timedelta(days=1))
    return_loan(db.session, loan)
    with pytest.raises(Conflict):
        set_due_at(db.session, loan, later)


def test_status_filter_in_sql_matches_the_property(app_ctx, users, make_book):
    from api.circulation.loans import loans_stmt

    alice, bob, carol = users(3)
    active = borrow(db.session, alice, make_book())
    overdue = borrow(db.session, bob, make_book(), due_at=utcnow() + timedelta(days=1))
    returned = return_loan(db.session, borrow(db.session, carol, make_book()))
    clock.advance(timedelta(days=2))
    for loan in (active, overdue, returned):
        found = db.session.scalars(loans_stmt(status=loan.status)).all()
        assert [x.id for x in found] == [loan.id]
    assert db.session.get(User, alice.id) is not None
