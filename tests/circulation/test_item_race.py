"""Item-level races on PostgreSQL: one physical copy goes to one borrower, whether
members ask for the book or scan the item, and staff changing an item's status at
the same moment never leave the counts off the items."""

import pytest
from sqlalchemy import func, select

from api.circulation import loans
from api.errors import Conflict
from api.extensions import db
from api.items import service as items
from api.models import Item, Loan, User
from tests.circulation.test_concurrency import THREADS, members, race
from tests.invariants.checks import assert_invariants

pytestmark = pytest.mark.postgres


def _barcodes(app, book_id):
    with app.app_context():
        return db.session.scalars(select(Item.barcode).where(Item.book_id == book_id).order_by(Item.id)).all()


def test_one_item_scanned_by_many_goes_to_exactly_one(app, make_book):
    book_id = make_book(copies=3)
    barcode = _barcodes(app, book_id)[1]
    uids = members(app, THREADS)
    def scan(uid):
        return lambda: loans.borrow(db.session, db.session.get(User, uid), barcode=barcode).id

    results = race(app, [scan(uid) for uid in uids])
    won = [r for r in results if isinstance(r, int)]
    assert len(won) == 1
    assert {r.code for r in results if isinstance(r, Conflict)} == {"item_unavailable"}
    with app.app_context():
        assert db.session.get(Loan, won[0]).barcode == barcode
        assert_invariants()


def test_scans_and_book_requests_for_the_last_copies_never_share_an_item(app, make_book):
    book_id = make_book(copies=2)
    first, second = _barcodes(app, book_id)
    uids = members(app, THREADS)
    jobs = [lambda uid=uid, i=i: loans.borrow(
        db.session, db.session.get(User, uid), *((book_id,) if i % 3 else ()),
        barcode=None if i % 3 else (first if i % 2 else second)).id for i, uid in enumerate(uids)]
    results = race(app, jobs)
    assert sum(isinstance(r, int) for r in results) == 2
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, int))
    with app.app_context():
        lent = db.session.scalars(select(Loan.item_id).where(Loan.returned_at.is_(None))).all()
        assert len(set(lent)) == 2
        assert_invariants()


def test_staff_status_changes_racing_borrows_keep_the_counts_exact(app, make_book, admin):
    book_id = make_book(copies=6)
    with app.app_context():
        item_ids = db.session.scalars(select(Item.id).where(Item.book_id == book_id).order_by(Item.id)).all()
    uids = members(app, 6)

    def mark(item_id, status):
        return lambda: items.update_item(db.session, item_id, {"status": status}, actor_id=admin.id).status

    jobs = [lambda uid=uid: loans.borrow(db.session, db.session.get(User, uid), book_id).id for uid in uids]
    jobs += [mark(item_ids[0], "lost"), mark(item_ids[1], "damaged"), mark(item_ids[2], "withdrawn")]
    results = race(app, jobs)
    assert all(isinstance(r, (int, str, Conflict)) for r in results), results
    with app.app_context():
        on_loan = db.session.scalar(select(func.count()).select_from(Loan).where(Loan.returned_at.is_(None)))
        assert on_loan == sum(isinstance(r, int) for r in results[:6])
        assert_invariants()
