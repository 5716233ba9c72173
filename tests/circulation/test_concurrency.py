"""Races on PostgreSQL: threads released together by a Barrier, each with its own
app context (so its own session and connection)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from api import tokens
from api.circulation.holds import cancel_hold, expire_ready_holds, get_hold, place_hold
from api.circulation.loans import borrow, renew, return_loan
from api.clock import utcnow
from api.errors import Conflict
from api.extensions import db
from api.models import Book, Hold, Loan, Notification, User
from tests import helpers
from tests.circulation.conftest import check_invariant
from tests.helpers import bearer, create_user

pytestmark = pytest.mark.postgres
THREADS = 12


def race(app, jobs):
    """tests.helpers.race over a list of jobs (an ApiError raised by a job is its result)."""
    return helpers.race(app, *jobs)


def members(app, n, prefix="racer"):
    return [create_user(app, f"{prefix}{i}").id for i in range(n)]


def token_for(app, user_id):
    with app.app_context():
        return tokens.issue_pair(db.session.get(User, user_id))["access_token"]


@pytest.mark.parametrize("copies", [1, 5])
def test_last_copies_go_to_exactly_that_many_borrowers(app, make_book, copies):
    book_id = make_book(copies=copies)
    heads = [bearer(token_for(app, uid)) for uid in members(app, THREADS)]

    def job(headers):
        return lambda: app.test_client().post("/loans", json={"book_id": book_id},
                                              headers=headers).status_code

    codes = race(app, [job(h) for h in heads])
    assert sorted(codes) == [201] * copies + [409] * (THREADS - copies)
    with app.app_context():
        assert db.session.get(Book, book_id).copies_available == 0
        assert db.session.scalar(select(func.count()).select_from(Loan)) == copies
        check_invariant(book_id)


def test_one_member_cannot_race_past_the_loan_limit(app, make_book):
    (uid,) = members(app, 1)
    limit = app.config["MAX_ACTIVE_LOANS"]
    with app.app_context():
        for _ in range(limit - 1):
            borrow(db.session, db.session.get(User, uid), make_book())
    books = [make_book() for _ in range(8)]

    def job(book_id):
        return lambda: borrow(db.session, db.session.get(User, uid), book_id)

    results = race(app, [job(b) for b in books])
    assert sum(isinstance(r, Loan) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, Loan))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Loan)) == limit
        for b in books:
            check_invariant(b)


def test_one_member_racing_for_the_same_book_gets_one_loan(app, make_book):
    (uid,) = members(app, 1)
    book_id = make_book(copies=5)
    results = race(app, [lambda: borrow(db.session, db.session.get(User, uid), book_id)] * 8)
    assert sum(isinstance(r, Loan) for r in results) == 1
    with app.app_context():
        check_invariant(book_id)


def test_return_vs_renew_has_only_allowed_outcomes(app, make_book):
    uids = members(app, 10)
    for uid in uids:
        book_id = make_book()
        with app.app_context():
            loan_id = borrow(db.session, db.session.get(User, uid), book_id).id
        ret, ren = race(app, [lambda: return_loan(db.session, db.session.get(Loan, loan_id)).id,  # noqa: B023
                              lambda: renew(db.session, db.session.get(Loan, loan_id)).renewals])  # noqa: B023
        assert ret == loan_id
        assert ren == 1 or isinstance(ren, Conflict)
        with app.app_context():
            loan = db.session.get(Loan, loan_id)
            assert loan.returned_at is not None and loan.renewals == (1 if ren == 1 else 0)
            check_invariant(book_id)


def test_double_return_races_to_one_success(app, make_book):
    (uid,) = members(app, 1)
    book_id = make_book(copies=1)
    with app.app_context():
        loan_id = borrow(db.session, db.session.get(User, uid), book_id).id
    results = race(app, [lambda: return_loan(db.session, db.session.get(Loan, loan_id)).id] * 6)
    assert results.count(loan_id) == 1
    with app.app_context():
        assert db.session.get(Book, book_id).copies_available == 1
        check_invariant(book_id)


def _queue(app, book_id, borrowers, waiters):
    with app.app_context():
        loans = [borrow(db.session, db.session.get(User, u), book_id).id for u in borrowers]
        holds = [place_hold(db.session, db.session.get(User, u), book_id).id for u in waiters]
    return loans, holds


def _statuses(hold_ids):
    return [db.session.scalar(select(Hold.status).where(Hold.id == h)) for h in hold_ids]


def test_racing_returns_make_one_hold_ready_per_copy(app, make_book):
    uids = members(app, 6)
    book_id = make_book(copies=3)
    loans, holds = _queue(app, book_id, uids[:3], uids[3:5])
    results = race(app, [lambda lid=lid: return_loan(db.session, db.session.get(Loan, lid)).id
                         for lid in loans])
    assert sorted(results) == sorted(loans)
    with app.app_context():
        assert _statuses(holds) == ["ready", "ready"]
        assert db.session.get(Book, book_id).copies_available == 1
        keys = db.session.scalars(select(Notification.dedupe_key)).all()
        assert sorted(keys) == sorted(f"hold_ready:{h}" for h in holds)
        check_invariant(book_id)


def test_concurrent_expiry_runs_pass_each_copy_on_once(app, make_book):
    uids = members(app, 8)
    books = [make_book(copies=1) for _ in range(2)]
    queues = [_queue(app, b, uids[i * 4:i * 4 + 1], uids[i * 4 + 1:i * 4 + 4]) for i, b in enumerate(books)]
    with app.app_context():
        for loans, _ in queues:
            return_loan(db.session, db.session.get(Loan, loans[0]))
    later = utcnow() + timedelta(days=app.config["HOLD_PICKUP_DAYS"], hours=1)
    counts = race(app, [lambda: expire_ready_holds(db.session, now=later, batch_size=1)] * 6)
    assert sum(counts) == 2
    with app.app_context():
        for book_id, (_, holds) in zip(books, queues, strict=True):
            assert _statuses(holds) == ["expired", "ready", "waiting"]
            check_invariant(book_id)
        assert db.session.scalar(select(func.count()).select_from(Notification)) == 4


def test_borrowing_a_ready_copy_races_its_expiry(app, make_book):
    uids = members(app, 3)
    book_id = make_book(copies=1)
    loans, holds = _queue(app, book_id, uids[:1], uids[1:])
    with app.app_context():
        return_loan(db.session, db.session.get(Loan, loans[0]))
    later = utcnow() + timedelta(days=app.config["HOLD_PICKUP_DAYS"], hours=1)
    got, _ = race(app, [lambda: borrow(db.session, db.session.get(User, uids[1]), book_id),
                        lambda: expire_ready_holds(db.session, now=later)])
    with app.app_context():
        first, second = _statuses(holds)
        if isinstance(got, Loan):
            assert (first, second) == ("fulfilled", "waiting")
        else:
            assert isinstance(got, Conflict) and (first, second) == ("expired", "ready")
        check_invariant(book_id)


def test_cancel_of_first_hold_racing_a_return_still_serves_the_queue(app, make_book):
    uids = members(app, 3)
    for _ in range(5):
        book_id = make_book(copies=1)
        loans, holds = _queue(app, book_id, uids[:1], uids[1:])
        race(app, [lambda: return_loan(db.session, db.session.get(Loan, loans[0])),  # noqa: B023
                   lambda: cancel_hold(db.session, get_hold(db.session, holds[0]))])  # noqa: B023
        with app.app_context():
            assert _statuses(holds) == ["cancelled", "ready"]
            check_invariant(book_id)


def test_placing_a_hold_racing_the_return_never_strands_a_copy(app, make_book):
    uids = members(app, 2)
    for _ in range(5):
        book_id = make_book(copies=1)
        loans, _ = _queue(app, book_id, uids[:1], [])
        ret, held = race(app, [lambda: return_loan(db.session, db.session.get(Loan, loans[0])).id,  # noqa: B023
                               lambda: place_hold(db.session, db.session.get(User, uids[1]), book_id)])  # noqa: B023
        assert ret == loans[0]
        with app.app_context():
            if isinstance(held, Conflict):  # the return won: the copy is on the shelf
                assert db.session.get(Book, book_id).copies_available == 1
            else:  # the hold won: the returned copy is kept for it
                assert _statuses([held.id]) == ["ready"]
            check_invariant(book_id)
