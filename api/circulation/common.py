"""Helpers shared by api.circulation.loans and api.circulation.holds."""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.caching import mark_catalog_changed
from api.errors import Conflict, NotFound
from api.fields import MAX_ID  # noqa: F401  (re-exported: circulation imports it from here)
from api.models import Book, Hold, User
from api.notify import notify


def setting(name: str) -> int:
    return int(current_app.config[name])


def conflict(session: Session, detail: str) -> Conflict:
    """Roll back (releasing row locks at once) and build the 409 to raise."""
    session.rollback()
    return Conflict(detail)


def _take_write_lock_on_sqlite(session: Session, model, row_id: int) -> None:
    """SQLite has no row locks, and the driver begins a transaction only at the first
    write: reads before it see no snapshot at all. A no-op write takes the database's
    single write lock now (waiting up to busy_timeout), so the checks that follow stay
    true until commit, as they do under FOR UPDATE on PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(model).where(model.id == row_id).values(id=model.id)
                        .execution_options(synchronize_session=False))


# Row locks are FOR NO KEY UPDATE (key_share=True), not FOR UPDATE: we never change
# a key, and FOR UPDATE would also block the FOR KEY SHARE that PostgreSQL takes to
# check a foreign key (a notification or loan row naming this member or book) —
# a return making someone's hold ready would then deadlock with their borrow.
def lock_user(session: Session, user_id: int) -> User:
    if 0 < user_id <= MAX_ID:
        _take_write_lock_on_sqlite(session, User, user_id)
    user = session.scalar(select(User).where(User.id == user_id).with_for_update(key_share=True)
                          .execution_options(populate_existing=True)) if 0 < user_id <= MAX_ID else None
    if user is None:
        session.rollback()
        raise NotFound("No such user.")
    if not user.is_active:
        raise conflict(session, "This member's account is deactivated.")
    return user


def lock_book(session: Session, book_id: int) -> Book:
    """The book, locked FOR UPDATE and freshly read (404 if it does not exist)."""
    if 0 < book_id <= MAX_ID:
        _take_write_lock_on_sqlite(session, Book, book_id)
    book = session.scalar(select(Book).where(Book.id == book_id).with_for_update(key_share=True)
                          .execution_options(populate_existing=True)) if 0 < book_id <= MAX_ID else None
    if book is None:
        session.rollback()
        raise NotFound("No such book.")
    return book


def make_next_hold_ready(session: Session, book: Book, now: datetime) -> Hold | None:
    """Keep one copy for the first waiting hold of `book` and record its email.

    The caller holds the books row lock, so no other transaction is choosing a hold
    for this book; the conditional UPDATE still guards against the owner cancelling
    their waiting hold at the same moment (then the next in line is tried).
    Does not touch copies_available and does not commit.
    """
    while True:
        hold = session.scalar(
            select(Hold).where(Hold.book_id == book.id, Hold.status == "waiting")
            .order_by(Hold.created_at, Hold.id).limit(1).execution_options(populate_existing=True))
        if hold is None:
            return None
        expires_at = now + timedelta(days=setting("HOLD_PICKUP_DAYS"))
        result = session.execute(
            update(Hold).where(Hold.id == hold.id, Hold.status == "waiting")
            .values(status="ready", ready_at=now, expires_at=expires_at)
            .execution_options(synchronize_session=False))
        session.refresh(hold)
        if result.rowcount == 1:
            user = session.get(User, hold.user_id)
            notify(session, "hold_ready", recipient=user.email, dedupe_key=f"hold_ready:{hold.id}",
                   hold_id=hold.id, user_id=user.id, hold=hold, book=book, user=user)
            return hold


def pass_copy_on(session: Session, book: Book, now: datetime) -> Hold | None:
    """A copy came free (return, cancelled or expired ready hold): the queue first,
    else the shelf. The caller holds the books row lock. Does not commit."""
    hold = make_next_hold_ready(session, book, now)
    if hold is None:
        book.copies_available = book.copies_available + 1
        session.flush()
    mark_catalog_changed(session)
    return hold
