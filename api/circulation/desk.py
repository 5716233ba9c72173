"""Staff actions at the circulation desk: check-in by barcode (book drop included)
and due-date corrections. Each is recorded in the audit log in its own transaction."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.accounts.fines import reprice_fine
from api.audit.service import record
from api.circulation.common import refuse
from api.circulation.holds import get_hold
from api.circulation.loans import close_loan, get_item_by_barcode
from api.clock import utcnow
from api.errors import BadRequest
from api.models import Hold, Item, Loan


@dataclass
class CheckIn:
    loan: Loan
    item: Item
    hold: Hold | None


def checkin(session: Session, barcode: str, *, returned_at: datetime | None = None,
            actor_id: int | None = None) -> CheckIn:
    """Close the open loan of the item with `barcode` and commit: the item goes to the
    first waiting hold (hold shelf) or back on the shelf.

    `returned_at` may lie in the past (the book drop was emptied late), never before
    the loan began nor in the future. 404 unknown barcode, 409 `item_unavailable`
    when the item is not on loan.
    """
    now = utcnow()
    item = get_item_by_barcode(session, barcode)
    loan = session.scalar(select(Loan).where(Loan.item_id == item.id, Loan.returned_at.is_(None))
                          .execution_options(populate_existing=True))
    if loan is None:
        refuse(session, "item_unavailable",
               f"This item is not on loan (it is {item.status.replace('_', ' ')}).")
    when = returned_at or now
    if when > now:
        raise BadRequest("returned_at must not be in the future.",
                         errors={"returned_at": ["Must not be in the future."]})
    if when < loan.borrowed_at:
        raise BadRequest("returned_at must not be before the loan began.",
                         errors={"returned_at": ["Must not be before borrowed_at."]})
    item, hold = close_loan(session, loan, when, now)
    record(session, actor_id=actor_id, action="loan.checked_in", object_type="loan", object_id=loan.id,
           data={"barcode": barcode, "item_id": item.id, "returned_at": when.isoformat(),
                 "item_status": item.status, "hold_id": hold.id if hold else None})
    session.commit()
    session.refresh(loan)
    session.refresh(item)
    return CheckIn(loan=loan, item=item, hold=get_hold(session, hold.id) if hold else None)


def set_due_at(session: Session, loan: Loan, due_at: datetime, *, actor_id: int | None = None) -> Loan:
    """Move an open loan's due date and commit: any time after it was borrowed, the
    past included (the loan is then overdue at once). 409 once returned."""
    session.refresh(loan)
    if due_at <= loan.borrowed_at:
        raise BadRequest("due_at must be after borrowed_at.",
                         errors={"due_at": ["Must be after borrowed_at."]})
    before = loan.due_at
    done = session.execute(update(Loan).where(Loan.id == loan.id, Loan.returned_at.is_(None))
                           .values(due_at=due_at).execution_options(synchronize_session=False))
    if done.rowcount == 0:
        refuse(session, "loan_returned", "This loan has been returned; its due date is final.")
    reprice_fine(session, loan)  # its fine follows the new due date now, not at the next accrual
    record(session, actor_id=actor_id, action="loan.due_date_changed", object_type="loan", object_id=loan.id,
           data={"from": before.isoformat(), "to": due_at.isoformat()})
    session.commit()
    session.refresh(loan)
    return loan
