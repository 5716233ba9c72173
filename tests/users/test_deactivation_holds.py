"""Deactivating a member ends their holds: a copy kept for them passes on."""

from api.circulation import holds, loans
from api.extensions import db
from api.models import Book, Hold, Loan, User
from tests.helpers import create_user


def test_deactivation_releases_a_kept_copy_to_the_next_in_line(app, client, admin, make_book):
    book_id = make_book(copies=1)
    ids = [create_user(app, name).id for name in ("lender", "first", "second")]
    with app.app_context():
        lender, first, second = (db.session.get(User, i) for i in ids)
        loan = loans.borrow(db.session, lender, book_id)
        first_hold = holds.place_hold(db.session, first, book_id)
        second_hold = holds.place_hold(db.session, second, book_id)
        loans.return_loan(db.session, db.session.get(Loan, loan.id))
        assert db.session.get(Hold, first_hold.id).status == "ready"
        first_id, second_id = first_hold.id, second_hold.id

    response = client.patch(f"/users/{ids[1]}", json={"is_active": False}, headers=admin.headers)
    assert response.status_code == 200

    with app.app_context():
        db.session.expire_all()
        assert db.session.get(Hold, first_id).status == "cancelled"
        assert db.session.get(Hold, second_id).status == "ready"
        assert db.session.get(Book, book_id).copies_available == 0
