"""Circulation row locks must not block foreign-key checks of other transactions.

A borrow locks the member's row; a return in another transaction may meanwhile make
that member's hold ready and insert a notification naming them. With FOR UPDATE the
insert's FK check waits on the borrow while the borrow waits on the book the return
holds: a deadlock (found by the soak run). FOR NO KEY UPDATE lets the check through.
"""

import pytest
from sqlalchemy import text

from api.circulation.common import lock_book, lock_user
from api.extensions import db
from tests.helpers import create_user

pytestmark = pytest.mark.postgres


def insert_without_waiting(sql: str, **params) -> None:
    """Run `sql` on a second connection; fail (not hang) if it has to wait for a lock."""
    with db.engine.connect() as conn:
        conn.execute(text("SET lock_timeout = '5s'"))
        conn.execute(text(sql), params)
        conn.rollback()


def test_a_locked_member_can_still_be_named_by_new_rows(app, app_ctx):
    member = create_user(app, "locked")
    lock_user(db.session, member.id)
    try:
        insert_without_waiting(
            "INSERT INTO notifications (kind, dedupe_key, recipient, subject, body, user_id, state, "
            "attempts, created_at, next_attempt_at) VALUES ('welcome', 'k', 'a@b.c', 's', 'b', :uid, "
            "'pending', 0, now(), now())", uid=member.id)
    finally:
        db.session.rollback()


def test_a_locked_book_can_still_be_named_by_new_rows(app, app_ctx, make_book):
    book_id = make_book(copies=1)
    member = create_user(app, "holder")
    lock_book(db.session, book_id)
    try:
        insert_without_waiting(
            "INSERT INTO holds (user_id, book_id, status, created_at) VALUES (:uid, :bid, 'waiting', now())",
            uid=member.id, bid=book_id)
    finally:
        db.session.rollback()
