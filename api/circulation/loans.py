"""Loans: borrow, return, renew, and an admin's change of the due date."""

from datetime import datetime, timedelta

from sqlalchemy import Select, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.accounts.fines import settle_fine
from api.audit.service import record
from api.circulation.common import MAX_ID, lock_book, lock_user, pass_copy_on, refuse, rule_for
from api.circulation.holds import keep_another_copy
from api.circulation.items import move_item
from api.circulation.refusals import borrow_blockers, enforce, first_refusal, record_override, renew_blockers
from api.clock import utcnow
from api.days.service import next_open
from api.errors import BadRequest, NotFound
from api.models import Book, Hold, Item, Loan, User


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
           actor_id: int | None = None, override_reason: str | None = None) -> Loan:
    """Lend `book_id` (any free item) or the item with `barcode` to `user`, and commit;
    404 unknown book/item/user, 409 when a rule says no (each with its code).

    If the member has the ready hold on this book, the loan takes the item kept for
    them (or, at the desk, the item scanned, and the kept one passes on). Otherwise
    it takes a shelf item under the book's row lock with a conditional UPDATE, so the
    last copy goes to exactly one of any number of concurrent borrowers.
    `borrowed_at`/`due_at` in the past are offline circulation (admins); `actor_id`
    records the loan as a staff action; `override_reason` (admins) lifts the blockers
    in refusals.OVERRIDABLE and records the override.
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
    # Serialises this member's borrows: the limit and overdue checks stay true until
    # we commit.
    user = lock_user(session, user.id)
    # Lock the book before any holds row (users -> books -> holds): taking a kept
    # copy updates the hold, and cancel/expiry lock the book first.
    book = lock_book(session, book_id)
    seen = borrow_blockers(session, user, book, scanned=scanned, now=now)
    item, kept = seen.item, seen.kept
    if scanned is None and (kept is None or kept.item_id is None):
        # The shelf count decides who gets the last copy, as one conditional UPDATE
        # (the recount below then sets the same value from the items). Under the book
        # lock it agrees with borrow_blockers, which found no item exactly when no
        # copy is free; should they ever differ, the UPDATE wins.
        taken = session.execute(
            update(Book).where(Book.id == book_id, Book.copies_available > 0)
            .values(copies_available=Book.copies_available - 1).execution_options(synchronize_session=False))
        if taken.rowcount == 0 and item is not None:
            seen.blockers.append(("no_copy_available", "No copy of this book is free."))
    overridden = enforce(session, seen.blockers, override_reason=override_reason)
    if kept is not None:
        session.execute(update(Hold).where(Hold.id == kept.id, Hold.status == "ready")
                        .values(status="fulfilled", closed_at=now)
                        .execution_options(synchronize_session=False))
    spare = session.get(Item, kept.item_id) if kept is not None and kept.item_id is not None else None
    displaced = {}
    if spare is not None and spare.id == item.id:
        move_item(session, item.id, book_id, "on_loan", expect=("on_hold_shelf",))
    else:
        other = _hold_keeping(session, item) if "reserved_for_other" in overridden else None
        if not move_item(session, item.id, book_id, "on_loan",
                         expect=("on_hold_shelf",) if other else ("available",)):
            refuse(session, "item_unavailable", "This item is not on the shelf.")
        if other is not None:
            displaced = keep_another_copy(session, book, other, spare)
        elif spare is not None:
            # Lent another copy at the desk: the one kept for them goes to the next in line.
            pass_copy_on(session, book, spare, now, expect=("on_hold_shelf",))
        # A waiting hold cannot coexist with a free copy; should one exist anyway, close
        # it so it never turns ready for a book the member already has. (Only after the
        # books row: locks go books before holds, never the other way.)
        session.execute(
            update(Hold).where(Hold.user_id == user.id, Hold.book_id == book_id, Hold.status == "waiting")
            .values(status="fulfilled", closed_at=now).execution_options(synchronize_session=False))
    loan = Loan(user_id=user.id, book_id=book_id, item_id=item.id, borrowed_at=start,
                due_at=due_at or next_open(session, start + timedelta(days=seen.rule.loan_days)))
    session.add(loan)
    if actor_id is not None or overridden:
        session.flush()
    if actor_id is not None:
        record(session, actor_id=actor_id, action="loan.created", object_type="loan", object_id=loan.id,
               data={"user_id": user.id, "item_id": item.id, "barcode": item.barcode,
                     "borrowed_at": start.isoformat(), "due_at": loan.due_at.isoformat(),
                     "offline": borrowed_at is not None})
    if overridden:
        record_override(session, actor_id=actor_id, loan_id=loan.id, on="borrow", reason=override_reason,
                        codes=overridden, **displaced)
    try:
        session.commit()
    except IntegrityError:
        # uq_loans_open_user_book / uq_loans_open_item: a race slipped past the checks.
        refuse(session, "already_borrowed", "The member already has this book on loan.")
    return loan


def _hold_keeping(session: Session, item: Item) -> Hold:
    return session.scalar(select(Hold).where(Hold.item_id == item.id, Hold.status == "ready")
                          .execution_options(populate_existing=True))


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


def return_loan(session: Session, loan: Loan, *, actor_id: int | None = None) -> Loan:
    """Return the loan now and commit; 409 if it was already returned.

    The copy goes to the first waiting hold (which becomes ready and gets an email),
    else back to the shelf; the books row is locked while choosing. Given `actor_id`
    (staff), it is recorded as a check-in (`loan.checked_in`), as at the desk.
    """
    now = utcnow()
    item, hold = close_loan(session, loan, now, now)
    if actor_id is not None:
        record(session, actor_id=actor_id, action="loan.checked_in", object_type="loan", object_id=loan.id,
               data={"item_id": item.id if item else None, "returned_at": now.isoformat(),
                     "item_status": item.status if item else None, "hold_id": hold.id if hold else None})
    session.commit()
    session.refresh(loan)
    return loan


def renew(session: Session, loan: Loan, *, override_reason: str | None = None,
          actor_id: int | None = None) -> Loan:
    """Extend the due date by the rule's renewal_days and commit; 409 when returned,
    overdue, out of renewals, another member has an open hold on the book, or the
    account blocks it. `override_reason` (admins) lifts renewal_limit,
    reserved_for_other and the account's blockers (never returned or overdue). Given
    `actor_id` (staff), the due-date change is recorded (`loan.renewed`), and so is
    an override.

    One conditional UPDATE re-checks the rules against the row as it is when the
    write happens, so a renewal racing a return (or another renewal) cannot win
    against a state it did not see.
    """
    now = utcnow()
    session.refresh(loan)
    member = session.get(User, loan.user_id)
    rule = rule_for(session, member, _item_type(session, loan))
    overridden = enforce(session, renew_blockers(session, loan, member, rule, now=now),
                         override_reason=override_reason)
    unchanged = [Loan.id == loan.id, Loan.returned_at.is_(None), Loan.due_at == loan.due_at,
                 Loan.due_at >= now, Loan.renewals == loan.renewals]
    if override_reason is None:
        others_waiting = exists().where(Hold.book_id == Loan.book_id, Hold.user_id != Loan.user_id,
                                        Hold.status.in_(("waiting", "ready")))
        unchanged += [Loan.renewals < rule.max_renewals, ~others_waiting]
    due_at = next_open(session, loan.due_at + timedelta(days=rule.renewal_days))
    done = session.execute(
        update(Loan).where(*unchanged).values(due_at=due_at, renewals=loan.renewals + 1)
        .execution_options(synchronize_session=False))
    if done.rowcount == 0:
        fresh = session.get(Loan, loan.id, populate_existing=True)
        refusal = first_refusal(renew_blockers(session, fresh, member, rule, now=now),
                                override_reason=override_reason)
        refuse(session, *(refusal or ("loan_changed", "The loan changed while renewing; try again.")))
    if actor_id is not None:
        record(session, actor_id=actor_id, action="loan.renewed", object_type="loan", object_id=loan.id,
               data={"from": loan.due_at.isoformat(), "to": due_at.isoformat()})
    if overridden:
        record_override(session, actor_id=actor_id, loan_id=loan.id, on="renew", reason=override_reason,
                        codes=overridden)
    session.commit()
    session.refresh(loan)
    return loan


def _item_type(session: Session, loan: Loan) -> str:
    return (session.scalar(select(Item.item_type).where(Item.id == loan.item_id))
            if loan.item_id is not None else None) or "book"
