"""The invariant checks themselves: a drift is reported, on each database's path
(on PostgreSQL the rules go out in one pipeline)."""

from sqlalchemy import text

from api.circulation import loans
from api.extensions import db
from api.models import User
from tests.helpers import create_user
from tests.invariants.checks import violations


def test_a_drifted_shelf_count_is_reported(app, make_book):
    book_id = make_book(copies=2)
    with app.app_context():
        assert violations() == []
        db.session.execute(text("UPDATE books SET copies_available = 1 WHERE id = :id"), {"id": book_id})
        db.session.commit()
        found = violations()
    assert [v.split(":")[0] for v in found] == [
        "available + open loans + ready holds + damaged != copies_total",
        "copies_total / copies_available differ from the items"]
    assert f"({book_id}, 1, 2" in found[0]


def test_a_member_above_the_loan_limit_is_reported(app, make_book, monkeypatch):
    account = create_user(app, "reader")
    book_id = make_book(copies=1)
    with app.app_context():
        loans.borrow(db.session, db.session.get(User, account.id), book_id)
        assert violations() == []
        monkeypatch.setitem(app.config, "MAX_ACTIVE_LOANS", 0)  # the rule's bound parameter
        found = violations()
    assert found == [f"member above the loan limit: [({account.id}, 1)]"]
