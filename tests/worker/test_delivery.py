"""Outbox delivery through a real worker, Redis and SMTP server."""

import threading
from collections import Counter
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from api.extensions import db
from api.models import Notification
from api.notify import notify
from scripts.embedded_redis import free_port
from tests.worker.fixtures import wait_for
from tests.worker.helpers import add_notices, kick, outbox, settled
from worker.mail import OUTCOME_UNKNOWN, REDACTED_BODY, claim_batch
from worker.smtp import message_id

pytestmark = pytest.mark.worker


def test_each_notice_arrives_once(worker_app, celery_worker, inbox):
    ids = add_notices(worker_app, 3)  # the commit kicks the worker
    wait_for(lambda: settled(worker_app), message="outbox delivered")
    kick(worker_app)  # a second, redundant delivery run
    kick(worker_app)
    wait_for(lambda: settled(worker_app) and len(inbox.messages) >= 3)
    rows = outbox(worker_app)
    assert {row.state for row in rows.values()} == {"sent"}
    assert all(row.sent_at is not None and row.attempts == 1 for row in rows.values())
    expected = {message_id(i, rows[i].dedupe_key, worker_app.config["MAIL_DEFAULT_SENDER"]) for i in ids}
    assert Counter(inbox.message_ids()) == Counter(expected)
    first = inbox.messages[0]
    assert first["Subject"].startswith("Welcome to the library")
    assert first["To"] == "reader0@example.com"


def test_a_connection_the_server_closed_between_messages_loses_nothing(worker_app, celery_worker, inbox):
    # The next message's MAIL FROM meets a closed connection: it was never handed over,
    # so it is sent again on a new connection, not marked of unknown outcome.
    inbox.one_per_connection = True
    ids = add_notices(worker_app, 3)
    wait_for(lambda: {row.state for row in outbox(worker_app).values()} == {"sent"}, message="all sent")
    rows = outbox(worker_app)
    expected = {message_id(i, rows[i].dedupe_key, worker_app.config["MAIL_DEFAULT_SENDER"]) for i in ids}
    assert Counter(inbox.message_ids()) == Counter(expected)
    assert any(row.attempts > 1 for row in rows.values())  # a retry, not a lucky reconnect


def test_message_id_is_deterministic():
    a = message_id(7, "overdue:loan:7:2026-11-24", "Library <library@example.org>")
    assert a == message_id(7, "overdue:loan:7:2026-11-24", "Library <library@example.org>")
    assert a.endswith("@example.org>") and a != message_id(8, "x", "library@example.org")


def test_transient_refusal_is_retried_then_sent(worker_app, celery_worker, inbox):
    inbox.replies = ["451 4.3.0 Try again later", "451 4.3.0 Try again later"]
    [row_id] = add_notices(worker_app, 1)
    wait_for(lambda: outbox(worker_app)[row_id].state == "sent", message="sent after retries")
    row = outbox(worker_app)[row_id]
    assert row.attempts == 3
    assert row.last_error is None
    assert len(inbox.messages) == 1


def test_permanent_refusal_fails_at_once(worker_app, celery_worker, inbox):
    inbox.replies = ["550 5.1.1 No such mailbox"]
    [row_id] = add_notices(worker_app, 1)
    wait_for(lambda: outbox(worker_app)[row_id].state == "failed")
    row = outbox(worker_app)[row_id]
    assert row.attempts == 1 and "550" in row.last_error
    assert inbox.messages == []


def test_an_smtp_outage_keeps_mail_pending_until_the_server_is_back(worker_app, celery_worker, inbox):
    # Nothing listens on the port, so no message can have been tried and none is given
    # up on, however many runs meet the outage (it used to lose every email queued in
    # an outage's first minutes: MAIL_MAX_ATTEMPTS runs, then `failed` for good).
    up = worker_app.config["MAIL_PORT"]
    worker_app.config["MAIL_PORT"] = free_port()
    [row_id] = add_notices(worker_app, 1)
    for _ in range(worker_app.config["MAIL_MAX_ATTEMPTS"] + 1):
        _age(worker_app, row_id, last_error=None)
        kick(worker_app)
        wait_for(lambda: outbox(worker_app)[row_id].last_error is not None, message="a run met the outage")
        row = outbox(worker_app)[row_id]
        assert (row.state, row.attempts, row.sent_at) == ("pending", 0, None)
        assert "SMTP connect" in row.last_error
    worker_app.config["MAIL_PORT"] = up
    kick(worker_app)
    wait_for(lambda: outbox(worker_app)[row_id].state == "sent", message="sent once the server is back")
    assert len(inbox.messages) == 1 and outbox(worker_app)[row_id].attempts == 1


def _age(worker_app, row_id: int, **values) -> None:
    with worker_app.app_context():
        db.session.execute(update(Notification).where(Notification.id == row_id).values(**values))
        db.session.commit()


def test_row_left_sending_is_not_resent(worker_app, celery_worker, inbox):
    """A worker died between handing the message over and recording it."""
    [row_id] = add_notices(worker_app, 1)
    wait_for(lambda: settled(worker_app))
    inbox.messages.clear()
    long_ago = outbox(worker_app)[row_id].created_at - timedelta(hours=1)
    _age(worker_app, row_id, state="sending", claimed_at=long_ago, sent_at=None)
    kick(worker_app)
    wait_for(lambda: outbox(worker_app)[row_id].state == "failed")
    assert outbox(worker_app)[row_id].last_error == OUTCOME_UNKNOWN
    assert inbox.messages == []


def test_row_claimed_but_never_tried_is_sent_after_the_lease(worker_app, celery_worker, inbox):
    """A worker claimed the row and died before trying it: still pending, lease expired."""
    [row_id] = add_notices(worker_app, 1, prefix="claimed")
    wait_for(lambda: settled(worker_app))
    inbox.messages.clear()
    past = outbox(worker_app)[row_id].created_at - timedelta(minutes=1)
    _age(worker_app, row_id, state="pending", claimed_at=past, next_attempt_at=past, sent_at=None)
    kick(worker_app)
    wait_for(lambda: outbox(worker_app)[row_id].state == "sent")
    assert len(inbox.messages) == 1


def test_concurrent_claims_never_share_a_row(worker_app):
    """FOR UPDATE SKIP LOCKED on PostgreSQL, serialised writers on SQLite."""
    ids = add_notices(worker_app, 40, prefix="race")
    barrier = threading.Barrier(4)
    claimed: list[list[int]] = []

    def claimer():
        with worker_app.app_context():
            barrier.wait(30)
            mine = []
            while rows := claim_batch(3)[1]:
                mine += [row.id for row in rows]
            claimed.append(mine)

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(claimed) == 4
    assert sorted(i for mine in claimed for i in mine) == sorted(ids)


def test_a_lost_kick_loses_nothing(dead_broker_app, worker_app, celery_worker, inbox):
    """The broker is down when the row commits: the commit stands, the sweep sends it."""
    [row_id] = add_notices(dead_broker_app, 1, prefix="lost-kick")
    assert outbox(worker_app)[row_id].state == "pending"
    worker_app.extensions["celery"].send_task("worker.mail.send_pending", ignore_result=True)  # as beat
    wait_for(lambda: outbox(worker_app)[row_id].state == "sent")
    assert len(inbox.messages) == 1


def test_password_reset_token_is_not_kept_after_delivery(worker_app, celery_worker, inbox):
    with worker_app.app_context():
        row = notify(db.session, "password_reset", recipient="reader@example.com",
                     dedupe_key="password_reset:test", user=SimpleNamespace(username="reader"),
                     token="live-token-123", minutes=30)
        db.session.commit()
        row_id = row.id
    wait_for(lambda: outbox(worker_app)[row_id].state == "sent", message="reset email sent")
    assert "live-token-123" in inbox.messages[0].get_payload(decode=True).decode()
    assert outbox(worker_app)[row_id].body == REDACTED_BODY
