"""Notices a job records without their text are rendered when sent; delivery costs
one commit per message on one database connection per batch."""

from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, event, update

from api.clock import utcnow
from api.extensions import db
from api.models import Loan
from tests.worker.helpers import add_notices, outbox
from tests.worker.test_jobs import add_loans
from worker.jobs import loan_notices
from worker.mail import claim_batch, deliver
from worker.smtp import build_message


def test_job_notice_is_rendered_at_send_time_and_kept(worker_app, inbox, make_book):
    [loan_id] = add_loans(worker_app, make_book, [-2])
    with worker_app.app_context():
        assert loan_notices("no-run", kind="overdue") == {"scanned": 1, "queued": 1}
    [row] = outbox(worker_app).values()
    assert row.subject is None and row.body is None and row.loan_id == loan_id
    with worker_app.app_context():
        claim_ts, rows = claim_batch(10)
        assert deliver(rows, claim_ts)["sent"] == 1
    [message] = inbox.messages
    assert message["Subject"] == "Overdue: Title 0"
    assert "is now overdue" in message.get_payload(decode=True).decode()
    [row] = outbox(worker_app).values()
    assert row.state == "sent" and row.subject == "Overdue: Title 0"
    assert "is now overdue" in row.body


@pytest.mark.parametrize("change, reason", [
    (lambda loan_id: delete(Loan), "no longer exists"),
    # Queued in the morning, still waiting (a retry) when the book came back: "is now
    # overdue" would be untrue by the time it went out.
    (lambda loan_id: update(Loan).where(Loan.id == loan_id).values(returned_at=utcnow()),
     "returned before this notice went out"),
])
def test_notice_whose_loan_is_gone_or_returned_fails_without_sending(worker_app, inbox, make_book,
                                                                      change, reason):
    [loan_id] = add_loans(worker_app, make_book, [-2])
    with worker_app.app_context():
        loan_notices("no-run", kind="overdue")
        db.session.execute(change(loan_id))
        db.session.commit()
        claim_ts, rows = claim_batch(10)
        assert deliver(rows, claim_ts) == {"sent": 0, "retrying": 0, "failed": 1}
    [row] = outbox(worker_app).values()
    assert row.state == "failed" and reason in row.last_error
    assert inbox.messages == []


def test_one_commit_per_message_on_one_connection(worker_app, inbox):
    add_notices(worker_app, 5, prefix="cost")
    with worker_app.app_context():
        claim_ts, rows = claim_batch(10)
        statements, checkouts = [], []

        def on_execute(*args):
            statements.append(1)

        def on_checkout(*args):
            checkouts.append(1)

        engine = db.engine
        event.listen(engine, "before_cursor_execute", on_execute)
        event.listen(engine.pool, "checkout", on_checkout)
        try:
            assert deliver(rows, claim_ts)["sent"] == 5
        finally:
            event.remove(engine, "before_cursor_execute", on_execute)
            event.remove(engine.pool, "checkout", on_checkout)
        postgres = engine.dialect.name == "postgresql"
    # Each flip to `sending` commits the previous message's outcome with it (on
    # PostgreSQL in the same statement), then the last outcome: one commit per message.
    assert len(statements) == (5 + 1 if postgres else 5 + 4 + 1)
    assert len(checkouts) == 1
    assert {row.state for row in outbox(worker_app).values()} == {"sent"}
    assert len(inbox.messages) == 5


def test_a_refusal_is_recorded_with_the_next_flip(worker_app, inbox):
    add_notices(worker_app, 3, prefix="mixed")
    inbox.replies = ["550 5.1.1 No such mailbox"]  # the first message only
    with worker_app.app_context():
        claim_ts, rows = claim_batch(10)
        assert deliver(rows, claim_ts) == {"sent": 2, "retrying": 0, "failed": 1}
    rows = sorted(outbox(worker_app).values(), key=lambda row: row.id)
    assert [row.state for row in rows] == ["failed", "sent", "sent"]
    assert "550" in rows[0].last_error and rows[0].attempts == 1
    assert all(row.attempts == 1 and row.last_error is None for row in rows[1:])
    assert len(inbox.messages) == 2


@pytest.mark.parametrize("recipient", ["reader@example.com", "lecteur@exämple.com"])
def test_messages_carry_non_ascii_text_intact(worker_app, recipient):
    row = SimpleNamespace(id=7, dedupe_key="overdue:loan:7:2026-12-01", recipient=recipient)
    with worker_app.app_context():
        message = build_message(row, "Überfällig: Café", "Bonjour Zoë,\n« Café » est en retard.\n")
        with pytest.raises(ValueError):
            build_message(row, "Subject\r\nBcc: victim@example.com", "body")
    parsed = message_from_bytes(message.as_bytes(), policy=default)
    assert parsed["Subject"] == "Überfällig: Café" and parsed["To"] == recipient
    assert parsed.get_content() == "Bonjour Zoë,\n« Café » est en retard.\n"
    assert parsed["Message-ID"].startswith("<notification.7.")


def test_one_overdue_notice_per_library_day_not_per_utc_day(worker_app, make_book, monkeypatch):
    # 20:00 UTC and 02:00 UTC the next day are both 6 January in Los Angeles.
    monkeypatch.setitem(worker_app.config, "LIBRARY_TIMEZONE", "America/Los_Angeles")
    [loan_id] = add_loans(worker_app, make_book, [-2])
    with worker_app.app_context():
        for now in (datetime(2030, 1, 6, 20, tzinfo=UTC), datetime(2030, 1, 7, 2, tzinfo=UTC)):
            loan_notices("no-run", kind="overdue", now=now)
    assert [row.dedupe_key for row in outbox(worker_app).values()] == [f"overdue:loan:{loan_id}:2030-01-06"]
