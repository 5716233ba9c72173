"""GET /loans/check: every reason a borrow would be refused, before it is attempted.

Read-only (no lock, no write): the answer is advice for the desk, and `borrow` still
decides under its row locks. Each blocker uses the code `borrow` would raise.
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.accounts.blockers import account_blockers
from api.circulation.common import patron_category, rule_for
from api.circulation.items import first_available
from api.circulation.loans import get_item_by_barcode
from api.clock import utcnow
from api.days.service import next_open
from api.fields import get_or_404
from api.models import Book, Hold, Item, Loan, User
from api.rules.resolve import type_loan_limit


def borrow_check(session: Session, user: User, *, book_id: int | None = None,
                 barcode: str | None = None) -> dict[str, Any]:
    """{allowed, blockers: [{code, detail}], due_at}: `due_at` is what a loan made now
    would get (the rule of the member's category and the item's type, on an open day)."""
    now = utcnow()
    scanned = get_item_by_barcode(session, barcode) if barcode is not None else None
    book = get_or_404(session, Book, scanned.book_id if scanned else book_id, detail="No such book.")
    kept = session.scalar(select(Hold).where(Hold.user_id == user.id, Hold.book_id == book.id,
                                             Hold.status == "ready"))
    item = scanned or _candidate(session, book, kept)
    item_type = item.item_type if item is not None else "book"
    rule = rule_for(session, user, item_type)
    open_loans = session.execute(
        select(Loan.book_id, Loan.due_at, Item.item_type).outerjoin(Item, Item.id == Loan.item_id)
        .where(Loan.user_id == user.id, Loan.returned_at.is_(None))).all()

    blockers: list[tuple[str, str]] = []
    if not user.is_active:
        blockers.append(("account_inactive", "This member's account is deactivated."))
    if any(row.book_id == book.id for row in open_loans):
        blockers.append(("already_borrowed", "The member already has this book on loan."))
    if any(row.due_at < now for row in open_loans):
        blockers.append(("has_overdue", "The member has an overdue loan."))
    blockers += _limits(session, user, item_type, rule.max_loans, open_loans)
    blockers += _availability(scanned, item, kept)
    blockers += account_blockers(session, user, rule=rule)
    return {"allowed": not blockers, "blockers": [{"code": c, "detail": d} for c, d in blockers],
            "due_at": _due_at(session, now, rule.loan_days)}


def _candidate(session: Session, book: Book, kept: Hold | None) -> Item | None:
    if kept is not None and kept.item_id is not None:
        return session.get(Item, kept.item_id)
    return first_available(session, book.id) if book.copies_available > 0 else None


def _limits(session: Session, user: User, item_type: str, max_loans: int, open_loans) -> list:
    found = []
    if len(open_loans) >= max_loans:
        found.append(("loan_limit", f"The member has {max_loans} books on loan, the most allowed."))
    type_limit = type_loan_limit(session, patron_category=patron_category(user), item_type=item_type)
    if type_limit is not None and sum(row.item_type == item_type for row in open_loans) >= type_limit:
        found.append(("loan_limit", f"The member has {type_limit} loans of type {item_type}, the most "
                                    "allowed."))
    return found


def _availability(scanned: Item | None, item: Item | None, kept: Hold | None) -> list:
    mine = kept is not None and item is not None and kept.item_id == item.id
    if scanned is not None:
        if scanned.status == "on_hold_shelf" and not mine:
            return [("reserved_for_other", "This item is kept for another member's hold.")]
        if scanned.status != "available" and not mine:
            return [("item_unavailable", "This item is not on the shelf.")]
        return []
    if item is None:
        return [("no_copy_available", "No copy of this book is free; place a hold to join the queue.")]
    return []


def _due_at(session: Session, now: datetime, loan_days: int) -> datetime:
    return next_open(session, now + timedelta(days=loan_days))
