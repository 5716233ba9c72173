"""Holds: the queue for books with no free copy, and the jobs that move it along.

Lifecycle: waiting -> ready (an item is kept on the hold shelf for the member for the
rule's hold_pickup_days, and a hold_ready email is queued) -> fulfilled (they borrowed it). A waiting or ready
hold may become cancelled (member, or their account deleted); a ready hold not
picked up in time becomes expired. A ready hold that ends without a loan passes its
copy to the next waiting hold, else back to the shelf.
"""

from collections.abc import Callable
from datetime import datetime

from flask import current_app
from sqlalchemy import Select, and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, with_expression

from api.audit.service import record
from api.circulation.common import (
    MAX_ID,
    lock_book,
    lock_user,
    make_next_hold_ready,
    pass_copy_on,
    refuse,
    refuse_account_blockers,
    rule_for,
)
from api.circulation.items import first_available, move_item
from api.clock import utcnow
from api.errors import NotFound
from api.models import Book, Hold, Item, Loan, User

OPEN = ("waiting", "ready")


def position_expr():
    """SQL for a waiting hold's 1-based place in its book's queue (NULL otherwise).

    A correlated subquery over ix_holds_book_status_created: a page of holds gets
    its positions in the same query, not one query per hold.
    """
    ahead = aliased(Hold)
    count = (select(func.count()).where(
        ahead.book_id == Hold.book_id, ahead.status == "waiting",
        or_(ahead.created_at < Hold.created_at,
            and_(ahead.created_at == Hold.created_at, ahead.id <= Hold.id)))
        .correlate(Hold).scalar_subquery())
    return case((Hold.status == "waiting", count), else_=None)


def holds_stmt(*, user_id: int | None = None, status: str | None = None,
              book_id: int | None = None) -> Select:
    stmt = (select(Hold).options(with_expression(Hold.position, position_expr()))
            .execution_options(populate_existing=True)
            .order_by(Hold.created_at.desc(), Hold.id.desc()))
    if user_id is not None:
        stmt = stmt.where(Hold.user_id == user_id)
    if status is not None:
        stmt = stmt.where(Hold.status == status)
    if book_id is not None:
        stmt = stmt.where(Hold.book_id == book_id)
    return stmt


def get_hold(session: Session, hold_id: int, *, owner_id: int | None = None) -> Hold:
    """The hold with its queue position; with `owner_id`, another member's hold is 404."""
    hold = session.scalar(holds_stmt().where(Hold.id == hold_id)) if 0 < hold_id <= MAX_ID else None
    if hold is None or (owner_id is not None and hold.user_id != owner_id):
        raise NotFound("No such hold.")
    return hold


def place_hold(session: Session, user: User, book_id: int) -> Hold:
    """Join the queue for a book with no free copy, and commit.

    409 when a copy is free (borrow it instead), or the member already has an open
    hold on or an open loan of the book. The books row stays locked until commit, so
    a return cannot put a copy on the shelf behind this new hold's back.
    """
    user = lock_user(session, user.id)
    book = lock_book(session, book_id)
    refuse_account_blockers(session, user, rule_for(session, user, None))
    if book.copies_available > 0:
        refuse(session, "hold_not_needed", "A copy is free; borrow it instead of placing a hold.")
    if session.scalar(select(Loan.id).where(Loan.user_id == user.id, Loan.book_id == book_id,
                                            Loan.returned_at.is_(None))) is not None:
        refuse(session, "already_borrowed", "You already have this book on loan.")
    if session.scalar(select(Hold.id).where(Hold.user_id == user.id, Hold.book_id == book_id,
                                            Hold.status.in_(OPEN))) is not None:
        refuse(session, "duplicate", "You already have a hold on this book.")
    hold = Hold(user_id=user.id, book_id=book_id, status="waiting", created_at=utcnow())
    session.add(hold)
    try:
        session.commit()
    except IntegrityError:  # uq_holds_open_user_book
        refuse(session, "duplicate", "You already have a hold on this book.")
    return get_hold(session, hold.id)


def _release_ready(session: Session, hold_id: int, book_id: int, new_status: str,
                   now: datetime, *, due_before: datetime | None = None) -> bool:
    """End a ready hold and pass its kept item on; False if it was no longer ready
    (or, with `due_before`, no longer due to expire). Does not commit."""
    book = lock_book(session, book_id) if session.get(Book, book_id) else None
    if book is None:
        return False
    cond = [Hold.id == hold_id, Hold.status == "ready"]
    if due_before is not None:
        cond.append(Hold.expires_at <= due_before)
    done = session.execute(update(Hold).where(*cond).values(status=new_status, closed_at=now)
                           .execution_options(synchronize_session=False))
    if done.rowcount == 0:
        return False
    item_id = session.scalar(select(Hold.item_id).where(Hold.id == hold_id))
    if item_id is not None:
        pass_copy_on(session, book, session.get(Item, item_id), now, expect=("on_hold_shelf",))
    return True


def _close(session: Session, hold: Hold, now: datetime) -> bool:
    """Cancel an open hold (a ready one passes its copy on). Does not commit.

    Its status may have moved since it was read: a waiting hold made ready by a return,
    a ready one put back in the queue by an override that lent its copy. Each move
    happens under the book's lock, which _release_ready takes, so the second try
    sees where it is."""
    if hold.status == "ready":
        return (_release_ready(session, hold.id, hold.book_id, "cancelled", now)
                or _cancel_waiting(session, hold.id, now))
    return (_cancel_waiting(session, hold.id, now)
            or _release_ready(session, hold.id, hold.book_id, "cancelled", now))


def _cancel_waiting(session: Session, hold_id: int, now: datetime) -> bool:
    done = session.execute(update(Hold).where(Hold.id == hold_id, Hold.status == "waiting")
                           .values(status="cancelled", closed_at=now)
                           .execution_options(synchronize_session=False))
    return done.rowcount == 1


def cancel_hold(session: Session, hold: Hold, *, actor_id: int | None = None) -> None:
    """Cancel a waiting or ready hold and commit; 409 if it is already closed. Given
    `actor_id` (staff), recorded as `hold.cancelled`."""
    if not _close(session, hold, utcnow()):
        refuse(session, "hold_closed", f"This hold is already {_status(session, hold.id)}.")
    if actor_id is not None:
        record(session, actor_id=actor_id, action="hold.cancelled", object_type="hold", object_id=hold.id,
               data={"user_id": hold.user_id, "book_id": hold.book_id})
    session.commit()


def _status(session: Session, hold_id: int) -> str:
    return session.scalar(select(Hold.status).where(Hold.id == hold_id)) or "gone"


def cancel_open_holds_for_user(session: Session, user_id: int) -> int:
    """Cancel all of a member's open holds (ready copies pass on); returns how many.
    Does NOT commit: the account deletion that calls it commits."""
    now = utcnow()
    holds = session.scalars(select(Hold).where(Hold.user_id == user_id, Hold.status.in_(OPEN))
                            .order_by(Hold.book_id)).all()
    return sum(_close(session, hold, now) for hold in holds)


def keep_another_copy(session: Session, book: Book, hold: Hold, spare: Item | None) -> dict:
    """An admin's override lent the item kept for `hold` (ready) to someone else: keep
    another copy for it -- `spare` (the borrower's own kept copy), else one from the
    shelf -- with the same pickup deadline and no new email; with none free, it goes
    back to waiting, first in line by its original place (its next copy brings a new
    email). The caller holds the book's lock. Does not commit; returns what happened,
    for the audit entry."""
    replacement = spare or first_available(session, book.id)
    if replacement is None:
        values = {"status": "waiting", "item_id": None, "expires_at": None}
    else:
        if replacement is not spare:
            move_item(session, replacement.id, book.id, "on_hold_shelf", expect=("available",))
        values = {"item_id": replacement.id}
    session.execute(update(Hold).where(Hold.id == hold.id, Hold.status == "ready").values(**values)
                    .execution_options(synchronize_session=False))
    return {"hold_id": hold.id, "hold_status": values.get("status", "ready"),
            "hold_item_id": values["item_id"]}


def promote_holds(session: Session, book_id: int) -> int:
    """Give free shelf items of the book to waiting holds, first come first served;
    returns how many holds became ready. Does NOT commit (the caller does)."""
    book = lock_book(session, book_id)
    now, promoted = utcnow(), 0
    while (item := first_available(session, book_id)) is not None:
        if make_next_hold_ready(session, book, item, now) is None:
            break
        move_item(session, item.id, book_id, "on_hold_shelf", expect=("available",))
        promoted += 1
    session.refresh(book)
    return promoted


def expire_ready_holds(session: Session, *, now: datetime | None = None, batch_size: int | None = None,
                       before_batch: Callable[[int], None] | None = None) -> int:
    """Expire ready holds past their pickup time and pass each copy on; returns how
    many this call expired. Commits after each batch; calls `before_batch(expired so
    far)` before each one it has found to do (a job's progress and cancel point).

    Safe to run twice or in two workers at once: each hold is expired by a
    conditional UPDATE under its book's row lock, so a hold another run (or a
    borrow) got to first is skipped, never passed on twice.
    """
    now = now or utcnow()
    batch_size = batch_size or int(current_app.config.get("JOB_BATCH_SIZE", 500))
    expired = 0
    while True:
        due = session.execute(
            select(Hold.id, Hold.book_id).where(Hold.status == "ready", Hold.expires_at <= now)
            .order_by(Hold.book_id, Hold.id).limit(batch_size)).all()
        session.rollback()  # end the read snapshot; each hold is re-checked under its lock
        if not due:
            return expired
        if before_batch is not None:
            before_batch(expired)
        expired += sum(_release_ready(session, hold_id, book_id, "expired", now, due_before=now)
                       for hold_id, book_id in due)
        session.commit()
