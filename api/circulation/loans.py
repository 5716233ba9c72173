"""Loans: borrow, return, renew, and an admin's change of the due date."""

from datetime import datetime, timedelta

from sqlalchemy import Select, and_, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.accounts.fines import settle_fine
from api.audit.service import record
from api.circulation.common import (
    MAX_ID,
    lock_book,
    lock_user,
    pass_copy_on,
    patron_category,
    refuse,
    refuse_account_blockers,
    rule_for,
)
from api.circulation.items import first_available, move_item
from api.clock import utcnow
from api.days.service import next_open
from api.errors import BadRequest, NotFound
from api.models import Book, Hold, Item, Loan, User
from api.rules.resolve import type_loan_limit


def get_loan(session: Session, loan_id: int, *, owner_id: int | None = None) -> Loan:
    """The loan; with `owner_id`, another member's loan is 404 too (no existence leak)."""
    loan = session.get(Loan, loan_id) if 0 < loan_id <= MAX_ID else None
    if loan is None or (owner_id is not None and loan.user_id != owner_id):
        raise NotFound("No such loan.")
    return loan


def loans_stmt(*, user_id: int | None = None, status: str | None = None,
               book_id: int | None = None) -> Select:
    stmt = select(Loan).order_by(Loan.borrowed_at.desc(), Loan.id.desc())
    if user_id is not None:
        stmt = stmt.where(Loan.user_id == user_id)
    if book_id is not None:
        stmt = stmt.where(Loan.book_id == book_id)
    if status is not None:
        stmt = stmt.where(Loan.status_is(status, utcnow()))
    return stmt


def get_item_by_barcode(session: Session, barcode: str) -> Item:
    item = session.scalar(select(Item).where(Item.barcode == barcode))
    if item is None:
        raise NotFound("No item has this barcode.")
    return item


def borrow(session: Session, user: User, book_id: int | None = None, *, barcode: str | None = None,
           due_at: datetime | None = None, borrowed_at: datetime | None = None,
           actor_id: int | None = None) -> Loan:
    """Lend `book_id` (any free item) or the item with `barcode` to `user`, and commit;
    404 unknown book/item/user, 409 when a rule says no (each with its code).

    If the member has the ready hold on this book, the loan takes the item kept for
    them (or, at the desk, the item scanned, and the kept one passes on). Otherwise
    it takes a shelf item under the book's row lock with a conditional UPDATE, so the
    last copy goes to exactly one of any number of concurrent borrowers.
    `borrowed_at`/`due_at` in the past are offline circulation (admins); `actor_id`
    records the loan as a staff action.
    """
    now = utcnow()
    start = borrowed_at or now
    if start > now:
        raise BadRequest("borrowed_at must not be in the future.",
                         errors={"borrowed_at": ["Must not be in the future."]})
    if due_at is not None and due_at <= start:
        raise BadRequest("due_at must be after borrowed_at (now unless given).",
                         errors={"due_at": ["Must be in the future (after borrowed_at)."]})
    scanned = get_item_by_barcode(session, barcode) if barcode is not None else None
    if scanned is not None:
        book_id = scanned.book_id
    # Serialises this member's borrows: the limit and overdue checks below stay true
    # until we commit.
    user = lock_user(session, user.id)
    # Lock the book before any holds row (users -> books -> holds): taking a kept
    # copy updates the hold, and cancel/expiry lock the book first.
    book = lock_book(session, book_id)
    open_loans = session.execute(
        select(Loan.book_id, Loan.due_at, Item.item_type).outerjoin(Item, Item.id == Loan.item_id)
        .where(Loan.user_id == user.id, Loan.returned_at.is_(None))).all()
    if any(row.book_id == book_id for row in open_loans):
        refuse(session, "already_borrowed", "You already have this book on loan.")
    if any(row.due_at < now for row in open_loans):
        refuse(session, "has_overdue", "You have an overdue loan; return it before borrowing more.")
    kept = session.scalar(select(Hold).where(Hold.user_id == user.id, Hold.book_id == book_id,
                                             Hold.status == "ready")
                          .execution_options(populate_existing=True))
    item = _choose_item(session, book_id, scanned, kept)
    _check_limits(session, user, item.item_type if item else "book", open_loans)
    refuse_account_blockers(session, user, rule_for(session, user, item.item_type if item else "book"))
    if scanned is None and (kept is None or kept.item_id is None):
        # The shelf count decides who gets the last copy, as one conditional UPDATE
        # (the recount below then sets the same value from the items).
        taken = session.execute(
            update(Book).where(Book.id == book_id, Book.copies_available > 0)
            .values(copies_available=Book.copies_available - 1).execution_options(synchronize_session=False))
        if taken.rowcount == 0 or item is None:
            refuse(session, "no_copy_available",
                   "No copy of this book is free; place a hold to join the queue.")
    if kept is not None:
        session.execute(update(Hold).where(Hold.id == kept.id, Hold.status == "ready")
                        .values(status="fulfilled", closed_at=now)
                        .execution_options(synchronize_session=False))
    if kept is not None and kept.item_id == item.id:
        move_item(session, item.id, book_id, "on_loan", expect=("on_hold_shelf",))
    else:
        if not move_item(session, item.id, book_id, "on_loan", expect=("available",)):
            refuse(session, "item_unavailable", "This item is not on the shelf.")
        if kept is not None and kept.item_id is not None:
            # Lent another copy at the desk: the one kept for them goes to the next in line.
            pass_copy_on(session, book, session.get(Item, kept.item_id), now, expect=("on_hold_shelf",))
        # A waiting hold cannot coexist with a free copy; should one exist anyway, close
        # it so it never turns ready for a book the member already has. (Only after the
        # books row: locks go books before holds, never the other way.)
        session.execute(
            update(Hold).where(Hold.user_id == user.id, Hold.book_id == book_id, Hold.status == "waiting")
            .values(status="fulfilled", closed_at=now).execution_options(synchronize_session=False))
    loan_days = rule_for(session, user, item.item_type).loan_days
    loan = Loan(user_id=user.id, book_id=book_id, item_id=item.id, borrowed_at=start,
                due_at=due_at or next_open(session, start + timedelta(days=loan_days)))
    session.add(loan)
    if actor_id is not None:
        session.flush()
        record(session, actor_id=actor_id, action="loan.created", object_type="loan", object_id=loan.id,
               data={"user_id": user.id, "item_id": item.id, "barcode": item.barcode,
                     "borrowed_at": start.isoformat(), "due_at": loan.due_at.isoformat(),
                     "offline": borrowed_at is not None})
    try:
        session.commit()
    except IntegrityError:
        # uq_loans_open_user_book / uq_loans_open_item: a race slipped past the checks.
        refuse(session, "already_borrowed", "You already have this book on loan.")
    return loan


def _choose_item(session: Session, book_id: int, scanned: Item | None, kept: Hold | None) -> Item | None:
    """The item this loan takes: the one scanned, else the one kept for the member,
    else the first on the shelf (None: no copy is free)."""
    if scanned is None:
        if kept is not None and kept.item_id is not None:
            return session.get(Item, kept.item_id, populate_existing=True)
        return first_available(session, book_id)
    session.refresh(scanned)  # as it is now that we hold the book's lock
    if scanned.status == "on_hold_shelf" and (kept is None or kept.item_id != scanned.id):
        refuse(session, "reserved_for_other", "This item is kept on the hold shelf for another member.")
    if scanned.status not in ("available", "on_hold_shelf"):
        refuse(session, "item_unavailable", f"This item is {scanned.status.replace('_', ' ')}.")
    return scanned


def _check_limits(session: Session, user: User, item_type: str, open_loans) -> None:
    limit = rule_for(session, user, item_type).max_loans
    if len(open_loans) >= limit:
        refuse(session, "loan_limit", f"You already have {limit} books on loan, the most allowed.")
    type_limit = type_loan_limit(session, patron_category=patron_category(user), item_type=item_type)
    if type_limit is not None and sum(row.item_type == item_type for row in open_loans) >= type_limit:
        refuse(session, "loan_limit", f"You already have {type_limit} loans of type {item_type}, "
                                      "the most allowed.")


def close_loan(session: Session, loan: Loan, returned_at: datetime,
               now: datetime) -> tuple[Item | None, Hold | None]:
    """Mark the loan returned at `returned_at` and pass its item on (the first waiting
    hold, else the shelf) under the book's row lock. Does not commit; 409 if it was
    already returned."""
    done = session.execute(update(Loan).where(Loan.id == loan.id, Loan.returned_at.is_(None))
                           .values(returned_at=returned_at).execution_options(synchronize_session=False))
    if done.rowcount == 0:
        refuse(session, "loan_returned", "This loan has already been returned.")
    # The fine is settled in the return's transaction, to the return day (book drop too).
    settle_fine(session, loan, returned_at=returned_at)
    book = lock_book(session, loan.book_id)
    if loan.item_id is None:
        return None, None
    item = session.get(Item, loan.item_id)
    hold = pass_copy_on(session, book, item, now, expect=("on_loan",))
    session.refresh(item)
    return item, hold


def return_loan(session: Session, loan: Loan) -> Loan:
    """Return the loan now and commit; 409 if it was already returned.

    The copy goes to the first waiting hold (which becomes ready and gets an email),
    else back to the shelf; the books row is locked while choosing.
    """
    now = utcnow()
    close_loan(session, loan, now, now)
    session.commit()
    session.refresh(loan)
    return loan


def renew(session: Session, loan: Loan) -> Loan:
    """Extend the due date by the rule's renewal_days and commit; 409 when returned,
    overdue, out of renewals, or another member has an open hold on the book.

    One conditional UPDATE re-checks every rule against the row as it is when the
    write happens, so a renewal racing a return (or another renewal) cannot win
    against a state it did not see.
    """
    now = utcnow()
    session.refresh(loan)
    member = session.get(User, loan.user_id)
    rule = rule_for(session, member, _item_type(session, loan))
    refuse_account_blockers(session, member, rule)
    others_waiting = exists().where(Hold.book_id == Loan.book_id, Hold.user_id != Loan.user_id,
                                    Hold.status.in_(("waiting", "ready")))
    done = session.execute(
        update(Loan).where(
            Loan.id == loan.id, Loan.returned_at.is_(None), Loan.due_at == loan.due_at,
            Loan.due_at >= now, Loan.renewals == loan.renewals,
            Loan.renewals < rule.max_renewals, ~others_waiting)
        .values(due_at=next_open(session, loan.due_at + timedelta(days=rule.renewal_days)),
                renewals=loan.renewals + 1)
        .execution_options(synchronize_session=False))
    if done.rowcount == 0:
        refuse(session, *_why_not_renewable(session, loan.id, now, rule.max_renewals))
    session.commit()
    session.refresh(loan)
    return loan


def _item_type(session: Session, loan: Loan) -> str:
    return (session.scalar(select(Item.item_type).where(Item.id == loan.item_id))
            if loan.item_id is not None else None) or "book"


def _why_not_renewable(session: Session, loan_id: int, now: datetime, max_renewals: int) -> tuple[str, str]:
    loan = session.get(Loan, loan_id, populate_existing=True)
    if loan.returned_at is not None:
        return "loan_returned", "This loan has been returned."
    if loan.due_at < now:
        return "loan_overdue", "This loan is overdue; return it instead."
    if loan.renewals >= max_renewals:
        return "renewal_limit", f"This loan has been renewed {loan.renewals} times, the most allowed."
    held = session.scalar(select(func.count()).select_from(Hold).where(and_(
        Hold.book_id == loan.book_id, Hold.user_id != loan.user_id, Hold.status.in_(("waiting", "ready")))))
    if held:
        return "reserved_for_other", "Another member is waiting for this book; it cannot be renewed."
    return "loan_changed", "The loan changed while renewing; try again."
