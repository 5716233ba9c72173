"""The spec's rules, restated independently of api/circulation, for the state
machine to compare answers against: when these say yes, the domain must say yes.
Each reads the database and ends its transaction. Call inside an app context."""

from datetime import date

from flask import current_app
from sqlalchemy import func, select, tuple_

from api import clock
from api.extensions import db
from api.models import OPEN_HOLD_STATES, Book, Hold, Item, Loan

OPEN_HOLD = OPEN_HOLD_STATES


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _member_may_borrow(user_id: int, book_id: int) -> bool:
    now = clock.utcnow()
    open_loans = db.session.execute(select(Loan.book_id, Loan.due_at).where(
        Loan.user_id == user_id, Loan.returned_at.is_(None))).all()
    return (len(open_loans) < current_app.config["MAX_ACTIVE_LOANS"]
            and all(b != book_id and due >= now for b, due in open_loans))


def borrow_allowed(user_id: int, book_id: int) -> bool:
    book = db.session.get(Book, book_id, populate_existing=True)
    kept_for_them = _count(Hold, Hold.user_id == user_id, Hold.book_id == book_id, Hold.status == "ready")
    ok = (book is not None and (book.copies_available > 0 or kept_for_them > 0)
          and _member_may_borrow(user_id, book_id))
    db.session.rollback()
    return ok


def barcode_borrow_allowed(user_id: int, item_id: int) -> bool:
    """The scanned item is on the shelf, or kept for this member's ready hold."""
    item = db.session.get(Item, item_id, populate_existing=True)
    kept_for_them = _count(Hold, Hold.user_id == user_id, Hold.item_id == item_id, Hold.status == "ready")
    ok = (item is not None and (item.status == "available" or kept_for_them > 0)
          and _member_may_borrow(user_id, item.book_id))
    db.session.rollback()
    return ok


def item_status_change_allowed(item_id: int) -> bool:
    item = db.session.get(Item, item_id, populate_existing=True)
    ok = item is not None and item.status not in ("on_loan", "on_hold_shelf")
    db.session.rollback()
    return ok


def hold_allowed(user_id: int, book_id: int) -> bool:
    book = db.session.get(Book, book_id, populate_existing=True)
    mine = (Hold.user_id == user_id, Hold.book_id == book_id)
    ok = (book is not None and book.copies_available == 0
          and not _count(Loan, Loan.user_id == user_id, Loan.book_id == book_id, Loan.returned_at.is_(None))
          and not _count(Hold, *mine, Hold.status.in_(OPEN_HOLD)))
    db.session.rollback()
    return ok


def renew_allowed(loan_id: int) -> bool:
    loan = db.session.get(Loan, loan_id, populate_existing=True)
    others_queue = _count(Hold, Hold.book_id == loan.book_id, Hold.user_id != loan.user_id,
                          Hold.status.in_(OPEN_HOLD))
    ok = (loan.returned_at is None and loan.due_at >= clock.utcnow()
          and loan.renewals < current_app.config["MAX_RENEWALS"] and not others_queue)
    db.session.rollback()
    return ok


def is_open(model, row_id: int) -> bool:
    row = db.session.get(model, row_id, populate_existing=True)
    ok = row.returned_at is None if model is Loan else row.status in OPEN_HOLD
    db.session.rollback()
    return ok


def copies_allowed(book_id: int, copies: int) -> bool:
    """Copies on loan, kept for ready holds or damaged cannot be removed (only shelf
    items are withdrawn)."""
    if db.session.get(Book, book_id, populate_existing=True) is None:
        db.session.rollback()
        return False
    out = (_count(Loan, Loan.book_id == book_id, Loan.returned_at.is_(None))
           + _count(Hold, Hold.book_id == book_id, Hold.status == "ready")
           + _count(Item, Item.book_id == book_id, Item.status == "damaged"))
    db.session.rollback()
    return copies >= out


def delete_allowed(book_id: int) -> bool:
    ok = (db.session.get(Book, book_id, populate_existing=True) is not None
          and not _count(Loan, Loan.book_id == book_id, Loan.returned_at.is_(None)))
    db.session.rollback()
    return ok


def is_waiting(hold_id: int) -> bool:
    """Only a waiting hold can be suspended or resumed."""
    ok = db.session.get(Hold, hold_id, populate_existing=True).status == "waiting"
    db.session.rollback()
    return ok


def resume_serves(hold_id: int, today: date) -> bool:
    """Resuming hands the hold a shelf copy when one is left after the older holds that
    wait and are not suspended on library date `today` (each takes one first)."""
    hold = db.session.get(Hold, hold_id, populate_existing=True)
    book = db.session.get(Book, hold.book_id, populate_existing=True)
    older_eligible = _count(Hold, Hold.book_id == hold.book_id, Hold.status == "waiting",
                            Hold.suspended_until.is_(None) | (Hold.suspended_until <= today),
                            tuple_(Hold.created_at, Hold.id) < tuple_(hold.created_at, hold.id))
    ok = hold.status == "waiting" and book.copies_available > older_eligible
    db.session.rollback()
    return ok
