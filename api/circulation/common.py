"""Helpers shared by api.circulation.loans and api.circulation.holds."""

from datetime import date, datetime, timedelta
from typing import NoReturn

from flask import current_app
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from api.circulation.items import move_item
from api.days.service import library_date, next_open
from api.errors import Conflict, NotFound
from api.fields import MAX_ID  # noqa: F401  (re-exported: circulation imports it from here)
from api.models import Book, Hold, Item, User
from api.notify import notify
from api.rules.resolve import EffectiveRule, effective_rule
from api.transaction import rollback_and_raise


def refuse(session: Session, code: str, detail: str) -> NoReturn:
    """Roll back (releasing row locks at once) and raise the 409 with its `code`."""
    rollback_and_raise(session, Conflict(detail, code=code))


def patron_category(user: User) -> str:
    """The member's category; a user without one (or before categories exist) gets
    DEFAULT_PATRON_CATEGORY."""
    return getattr(user, "category", None) or current_app.config.get("DEFAULT_PATRON_CATEGORY", "adult")


def rule_for(session: Session, user: User, item_type: str | None) -> EffectiveRule:
    """The effective rule for this member and item type (api.rules.resolve decides)."""
    return effective_rule(session, patron_category=patron_category(user), item_type=item_type or "book")


def refuse_account_blockers(session: Session, user: User, rule: EffectiveRule) -> None:
    """409 `balance_limit` / `patron_blocked` (api.accounts.blockers) for borrow, renew
    and holds; returns and payments never call it. Call after lock_user: a payment takes
    the same lock, so the balance cannot move under the check."""
    from api.accounts.blockers import account_blockers  # accounts builds on circulation

    for blocker in account_blockers(session, user, rule=rule):  # (code, detail)
        refuse(session, *blocker)


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
    user = _locked(session, User, user_id, "No such user.")
    if not user.is_active:
        refuse(session, "account_inactive", "This member's account is deactivated.")
    return user


def lock_book(session: Session, book_id: int) -> Book:
    """The book, locked FOR UPDATE and freshly read (404 if it does not exist). Every
    change of one of its items' status happens under this lock."""
    return _locked(session, Book, book_id, "No such book.")


def _locked(session: Session, model, row_id: int, missing: str):
    """The `model` row, locked and freshly read; 404 `missing` (rolled back) if absent."""
    row = None
    if 0 < row_id <= MAX_ID:
        _take_write_lock_on_sqlite(session, model, row_id)
        row = session.scalar(select(model).where(model.id == row_id).with_for_update(key_share=True)
                             .execution_options(populate_existing=True))
    if row is None:
        session.rollback()
        raise NotFound(missing)
    return row


def not_suspended(today: date) -> ColumnElement[bool]:
    """SQL: the hold is not suspended on library date `today` (never suspended, or its
    suspended_until has been reached: it waits again from the start of that day)."""
    return or_(Hold.suspended_until.is_(None), Hold.suspended_until <= today)


def make_next_hold_ready(session: Session, book: Book, item: Item, now: datetime) -> Hold | None:
    """Keep `item` for the first waiting hold of `book` not suspended at `now`, and
    record its email. Suspended holds are passed over and keep their place.

    The caller holds the books row lock, so no other transaction is choosing a hold
    for this book (suspending takes it too); the conditional UPDATE still guards
    against the owner cancelling their waiting hold at the same moment (then the
    next in line is tried). Does not move the item and does not commit.
    """
    waiting = (Hold.book_id == book.id, Hold.status == "waiting", not_suspended(library_date(now)))
    while True:
        hold = session.scalar(
            select(Hold).where(*waiting)
            .order_by(Hold.created_at, Hold.id).limit(1).execution_options(populate_existing=True))
        if hold is None:
            return None
        # A hold an override sent back to waiting was ready before: its new copy
        # gets a new email (the first one's key is taken).
        again = f":{now.isoformat()}" if hold.ready_at is not None else ""
        user = session.get(User, hold.user_id)
        days = rule_for(session, user, item.item_type).hold_pickup_days
        expires_at = next_open(session, now + timedelta(days=days))
        result = session.execute(
            update(Hold).where(Hold.id == hold.id, *waiting)
            .values(status="ready", ready_at=now, expires_at=expires_at, item_id=item.id,
                    suspended_until=None)
            .execution_options(synchronize_session=False))
        session.refresh(hold)
        if result.rowcount == 1:
            notify(session, "hold_ready", recipient=user.email, dedupe_key=f"hold_ready:{hold.id}{again}",
                   hold_id=hold.id, user_id=user.id, hold=hold, book=book, user=user)
            return hold


def pass_copy_on(session: Session, book: Book, item: Item, now: datetime, *,
                 expect: tuple[str, ...]) -> Hold | None:
    """`item` came free (return, cancelled or expired ready hold, back from repair):
    the queue first, else the shelf. The caller holds the books row lock. Does not
    commit."""
    hold = make_next_hold_ready(session, book, item, now)
    move_item(session, item.id, book.id, "on_hold_shelf" if hold else "available", expect=expect)
    return hold
