"""GET /loans/check: every reason a borrow would be refused, before it is attempted.

Read-only (no lock, no write): the answer is advice for the desk, and `borrow` still
decides under its row locks. Both read the reasons from the same function,
api.circulation.refusals.borrow_blockers, so each blocker carries the code `borrow`
would raise.
"""

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from api.circulation.loans import get_item_by_barcode
from api.circulation.refusals import OVERRIDABLE, borrow_blockers
from api.clock import utcnow
from api.days.service import next_open
from api.fields import get_or_404
from api.models import Book, User


def borrow_check(session: Session, user: User, *, book_id: int | None = None,
                 barcode: str | None = None) -> dict[str, Any]:
    """{allowed, blockers: [{code, detail, overridable}], due_at}: `due_at` is what a
    loan made now would get (the rule of the member's category and the item's type, on
    an open day)."""
    now = utcnow()
    scanned = get_item_by_barcode(session, barcode) if barcode is not None else None
    book = get_or_404(session, Book, scanned.book_id if scanned else book_id, detail="No such book.")
    seen = borrow_blockers(session, user, book, scanned=scanned, now=now)
    return {"allowed": not seen.blockers,
            "blockers": [{"code": c, "detail": d, "overridable": c in OVERRIDABLE} for c, d in seen.blockers],
            "due_at": next_open(session, now + timedelta(days=seen.rule.loan_days))}
