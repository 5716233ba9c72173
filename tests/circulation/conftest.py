"""Helpers for the circulation tests."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from api.clock import utcnow
from api.extensions import db
from api.models import Book, Hold, Loan, User
from tests.helpers import create_user, take_item


def check_invariant(book_id: int) -> None:
    """copies_available + open loans + ready holds == copies_total, and no free copy
    while someone not suspended is waiting. Call inside an app context."""
    db.session.expire_all()
    book = db.session.get(Book, book_id)
    open_loans = db.session.scalar(select(func.count()).select_from(Loan).where(
        Loan.book_id == book_id, Loan.returned_at.is_(None)))
    ready, waiting = (db.session.scalar(select(func.count()).select_from(Hold).where(
        Hold.book_id == book_id, Hold.status == s, *extra)) for s, extra in (
            ("ready", ()), ("waiting", (Hold.suspended_until.is_(None),))))
    assert book.copies_available >= 0
    assert book.copies_available + open_loans + ready == book.copies_total, (
        book.copies_available, open_loans, ready, book.copies_total)
    assert not (book.copies_available > 0 and waiting), "a copy is on the shelf while holds wait"
    from tests.invariants.checks import violations

    assert violations() == []


@pytest.fixture
def invariant(app):
    def check(*book_ids: int) -> None:
        with app.app_context():
            for book_id in book_ids:
                check_invariant(book_id)

    return check


@pytest.fixture
def users(app_ctx):
    """users(n) -> n fresh active members (User rows) in the current app context."""
    counter = iter(range(1, 1000))

    def make(n: int = 1, role: str = "user") -> list[User]:
        accounts = [create_user(app_ctx, f"m{next(counter)}", role=role) for _ in range(n)]
        return [db.session.get(User, a.id) for a in accounts]

    return make


def book_state(book_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Book, book_id).copies_available


def hold_status(hold_id: int) -> str:
    return db.session.scalar(select(Hold.status).where(Hold.id == hold_id))


def add_loan(user_id: int, book_id: int, *, due_in_days: int = 14) -> Loan:
    """An open loan written directly (with its item taken off the shelf)."""
    loan = Loan(user_id=user_id, book_id=book_id, item_id=take_item(book_id),
                due_at=utcnow() + timedelta(days=due_in_days))
    db.session.add(loan)
    db.session.commit()
    return loan


@pytest.fixture
def travel(app):
    """travel(timedelta, *accounts): move the clock, then give the accounts fresh
    tokens (the old ones expired), without the rate-limited login endpoint."""
    from api import clock, tokens

    def move(delta: timedelta, *accounts) -> None:
        clock.advance(delta)
        with app.app_context():
            for account in accounts:
                pair = tokens.issue_pair(db.session.get(User, account.id))
                account.access_token = pair["access_token"]

    return move


@pytest.fixture
def quick_member(app):
    """quick_member(name) -> an Account with a token issued directly (many members
    would trip the login rate limit)."""
    from api import tokens

    def make(username: str):
        account = create_user(app, username)
        with app.app_context():
            account.access_token = tokens.issue_pair(db.session.get(User, account.id))["access_token"]
        return account

    return make
