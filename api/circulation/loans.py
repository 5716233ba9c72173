"""Loans: borrow, return, renew, and an admin's change of the due date."""

from datetime import datetime, timedelta

from sqlalchemy import Select, and_, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.caching import mark_catalog_changed
from api.circulation.common import MAX_ID, conflict, lock_book, lock_user, pass_copy_on, setting
from api.clock import utcnow
from api.errors import BadRequest, NotFound
from api.extensions import db
from api.models import Book, Hold, Loan, User


def get_loan(loan_id: int, *, owner_id: int | None = None) -> Loan:
    """The loan; with `owner_id`, another member's loan is 404 too (no existence leak)."""
    loan = db.session.get(Loan, loan_id) if 0 < loan_id <= MAX_ID else None
    if loan is None or (owner_id is not None and loan.user_id != owner_id):
        raise NotFound("No such loan.")
    return loan


def list_stmt(*, user_id: int | None = None, status: str | None = None,
              book_id: int | None = None) -> Select:
    stmt = select(Loan).order_by(Loan.borrowed_at.desc(), Loan.id.desc())
    if user_id is not None:
        stmt = stmt.where(Loan.user_id == user_id)
    if book_id is not None:
        stmt = stmt.where(Loan.book_id == book_id)
    if status is not None:
        stmt = stmt.where(Loan.status_is(status, utcnow()))
    return stmt


def borrow(user: User, book_id: int, *, due_at: datetime | None = None) -> Loan:
    """Lend `book_id` to `user` and commit; 404 unknown book/user, 409 when a rule says no.

    If the member has the ready hold on this book, the loan takes the copy kept for
    them. Otherwise it takes a shelf copy with a conditional UPDATE, so the last copy
    goes to exactly one of any number of concurrent borrowers.
    """
    session = db.session
    now = utcnow()
    if due_at is not None and due_at <= now:
        raise BadRequest("due_at must be in the future.", errors={"due_at": ["Must be in the future."]})
    # Serialises this member's borrows: the limit and overdue checks below stay true
    # until we commit.
    user = lock_user(session, user.id)
    # Lock the book before any holds row (users -> books -> holds): taking a kept
    # copy updates the hold, and cancel/expiry lock the book first.
    lock_book(session, book_id)
    open_loans = session.execute(
        select(Loan.book_id, Loan.due_at).where(Loan.user_id == user.id, Loan.returned_at.is_(None))
    ).all()
    if any(row.book_id == book_id for row in open_loans):
        raise conflict(session, "You already have this book on loan.")
    if any(row.due_at < now for row in open_loans):
        raise conflict(session, "You have an overdue loan; return it before borrowing more.")
    if len(open_loans) >= setting("MAX_ACTIVE_LOANS"):
        raise conflict(session, f"You already have {setting('MAX_ACTIVE_LOANS')} books on loan, "
                                "the most allowed.")
    if not _take_kept_copy(session, user.id, book_id, now):
        taken = session.execute(
            update(Book).where(Book.id == book_id, Book.copies_available > 0)
            .values(copies_available=Book.copies_available - 1)
            .execution_options(synchronize_session=False))
        if taken.rowcount == 0:
            raise conflict(session, "No copy of this book is free; place a hold to join the queue.")
        mark_catalog_changed(session)
        # A waiting hold cannot coexist with a free copy; should one exist anyway, close
        # it so it never turns ready for a book the member already has. (Only after the
        # books row: locks go books before holds, never the other way.)
        session.execute(
            update(Hold).where(Hold.user_id == user.id, Hold.book_id == book_id, Hold.status == "waiting")
            .values(status="fulfilled", closed_at=now).execution_options(synchronize_session=False))
    loan = Loan(user_id=user.id, book_id=book_id, borrowed_at=now,
                due_at=due_at or now + timedelta(days=setting("LOAN_PERIOD_DAYS")))
    session.add(loan)
    try:
        session.commit()
    except IntegrityError:
        # uq_loans_open_user_book / the books CHECKs: a race slipped past the checks.
        raise conflict(session, "You already have this book on loan.") from None
    return loan


def _take_kept_copy(session: Session, user_id: int, book_id: int, now: datetime) -> bool:
    """Fulfil the member's ready hold on the book (its copy is already off the shelf)."""
    fulfilled = session.execute(
        update(Hold).where(Hold.user_id == user_id, Hold.book_id == book_id, Hold.status == "ready")
        .values(status="fulfilled", closed_at=now).execution_options(synchronize_session=False))
    return fulfilled.rowcount == 1


def return_loan(loan: Loan) -> Loan:
    """Return the loan and commit; 409 if it was already returned.

    The copy goes to the first waiting hold (which becomes ready and gets an email),
    else back to the shelf; the books row is locked while choosing.
    """
    session = db.session
    now = utcnow()
    done = session.execute(update(Loan).where(Loan.id == loan.id, Loan.returned_at.is_(None))
                           .values(returned_at=now).execution_options(synchronize_session=False))
    if done.rowcount == 0:
        raise conflict(session, "This loan has already been returned.")
    pass_copy_on(session, lock_book(session, loan.book_id), now)
    session.commit()
    session.refresh(loan)
    return loan


def renew(loan: Loan) -> Loan:
    """Extend the due date by LOAN_PERIOD_DAYS and commit; 409 when returned, overdue,
    out of renewals, or another member has an open hold on the book.

    One conditional UPDATE re-checks every rule against the row as it is when the
    write happens, so a renewal racing a return (or another renewal) cannot win
    against a state it did not see.
    """
    session = db.session
    now = utcnow()
    session.refresh(loan)
    others_waiting = exists().where(Hold.book_id == Loan.book_id, Hold.user_id != Loan.user_id,
                                    Hold.status.in_(("waiting", "ready")))
    done = session.execute(
        update(Loan).where(
            Loan.id == loan.id, Loan.returned_at.is_(None), Loan.due_at == loan.due_at,
            Loan.due_at >= now, Loan.renewals == loan.renewals,
            Loan.renewals < setting("MAX_RENEWALS"), ~others_waiting)
        .values(due_at=loan.due_at + timedelta(days=setting("LOAN_PERIOD_DAYS")),
                renewals=loan.renewals + 1)
        .execution_options(synchronize_session=False))
    if done.rowcount == 0:
        raise conflict(session, _why_not_renewable(session, loan.id, now))
    session.commit()
    session.refresh(loan)
    return loan


def _why_not_renewable(session: Session, loan_id: int, now: datetime) -> str:
    loan = session.get(Loan, loan_id, populate_existing=True)
    if loan.returned_at is not None:
        return "This loan has been returned."
    if loan.due_at < now:
        return "This loan is overdue; return it instead."
    if loan.renewals >= setting("MAX_RENEWALS"):
        return f"This loan has been renewed {loan.renewals} times, the most allowed."
    held = session.scalar(select(func.count()).select_from(Hold).where(and_(
        Hold.book_id == loan.book_id, Hold.user_id != loan.user_id, Hold.status.in_(("waiting", "ready")))))
    if held:
        return "Another member is waiting for this book; it cannot be renewed."
    return "The loan changed while renewing; try again."


def set_due_at(loan: Loan, due_at: datetime) -> Loan:
    """An admin moves an open loan's due date (must be in the future) and commits."""
    session = db.session
    if due_at <= utcnow():
        raise BadRequest("due_at must be in the future.", errors={"due_at": ["Must be in the future."]})
    done = session.execute(update(Loan).where(Loan.id == loan.id, Loan.returned_at.is_(None))
                           .values(due_at=due_at).execution_options(synchronize_session=False))
    if done.rowcount == 0:
        raise conflict(session, "This loan has been returned; its due date is final.")
    session.commit()
    session.refresh(loan)
    return loan
