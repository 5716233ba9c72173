"""Admin GET /loans?status=active|overdue reads each page by deferred join (its ids from
the open-loans index): the pages are the same rows, in the same order, as the rule."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from api.clock import utcnow
from api.extensions import db
from api.models import Book, Loan


@pytest.fixture
def open_loans(app, member):
    """25 loans of one member: 17 open (some overdue, some not), 8 returned."""
    now = utcnow()
    with app.app_context():
        books = [Book(title=f"Ledger {i}", author="Clerk", isbn=f"979{i:010d}", published_year=2000,
                      copies_total=1, copies_available=1) for i in range(25)]
        db.session.add_all(books)
        db.session.flush()
        for i, book in enumerate(books):
            borrowed = now - timedelta(days=i, hours=i % 3)
            due = borrowed + timedelta(days=(5, 14, 30)[i % 3])
            db.session.add(Loan(user_id=member.id, book_id=book.id, borrowed_at=borrowed, due_at=due,
                                returned_at=borrowed + timedelta(days=1) if i % 3 == 2 else None, renewals=0))
        db.session.commit()
        newest_first = select(Loan).order_by(Loan.borrowed_at.desc(), Loan.id.desc())
        return [(loan.id, loan.status) for loan in db.session.scalars(newest_first)]


@pytest.mark.parametrize("status", ["active", "overdue"])
def test_status_pages_are_slices_of_the_rule(client, admin, open_loans, status):
    expected = [loan_id for loan_id, s in open_loans if s == status]
    assert 0 < len(expected) < 17
    seen = []
    for page in (1, 2, 3):
        body = client.get(f"/loans?status={status}&per_page=4&page={page}", headers=admin.headers).get_json()
        assert body["meta"]["total"] == len(expected)
        assert all(loan["status"] == status for loan in body["items"])
        seen += [loan["id"] for loan in body["items"]]
    assert seen == expected[:12]
