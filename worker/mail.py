"""Outbox delivery: pending notification rows go out over SMTP, each at most once.

A row's life: pending -> (claimed: still pending, leased to one worker) -> sending
(committed just before the SMTP hand-off) -> sent | failed, or back to pending with
a later next_attempt_at after a transient failure.

- Claiming is one UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING
  (SQLite ignores the lock clause and serialises writers instead). It pushes
  next_attempt_at a lease into the future, so rows a crashed worker claimed but never
  tried become due again by themselves after MAIL_LEASE_SECONDS.
- pending -> sending is a conditional UPDATE on the claim timestamp (the lease token),
  committed before the message is handed to SMTP: only one worker can ever flip it.
  That commit also records the previous message's outcome (worker/ledger.py): one
  commit per message, on one database connection and one SMTP connection per batch.
- A row still `sending` after the lease means its worker died (or lost the connection)
  between handing the message over and recording the outcome. It may have been
  delivered, so it is never resent: it becomes failed with "outcome unknown" for an
  admin to judge (GET /admin/notifications?state=failed).
- Transient failures (4xx, a connection lost before the message began) retry with
  exponential backoff and jitter; 5xx, or MAIL_MAX_ATTEMPTS attempts, end as failed
  with last_error. A server that cannot be reached at all is an outage, not a verdict
  on the message: the rows stay pending, their attempts unchanged, and are tried again
  after the backoff for the attempts they had (so an outage of any length loses none).
"""

import logging
import random
import smtplib
from datetime import datetime, timedelta

from celery import shared_task
from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import and_, func, select, update

from api.celery_setup import SEND_TASK
from api.clock import utcnow
from api.extensions import db
from api.models import AccountLine, Book, Loan, Notification, User
from api.redis_client import get_redis
from worker.ledger import Ledger, T, outcome, sent
from worker.smtp import NotSent, build_message, close, connect, content, send, text

log = logging.getLogger(__name__)

FOLLOWUP_KEY = "outbox:followup"
# A retry due further ahead than this is left to the OUTBOX_SWEEP_CRON beat entry.
FOLLOWUP_HORIZON = 600
MAX_BATCHES_PER_RUN = 20
# Bodies that carry a live secret (the password-reset token) are not kept once
# delivered: a read of the outbox table must not hand out account takeovers.
SECRET_KINDS = ("password_reset",)
REDACTED_BODY = "[redacted after delivery: the message carried a one-time token]"
OUTCOME_UNKNOWN = ("outcome unknown: the worker stopped after handing the message to SMTP "
                   "and before recording the result; not resent to avoid a duplicate")
BROKE_IN_DATA = ("outcome unknown: the connection broke after the message was handed to SMTP; "
                 "not resent to avoid a duplicate")


def cfg(key: str):
    return current_app.config[key]


@shared_task(name=SEND_TASK, bind=True)
def send_pending(self, followup: bool = False) -> dict:
    """Deliver every due outbox row; safe to run any number of times at once."""
    if followup:
        _forget_followup()
    stats = {"sent": 0, "retrying": 0, "failed": _reap_stale(utcnow())}
    for _ in range(MAX_BATCHES_PER_RUN):
        claim_ts, rows = claim_batch(cfg("MAIL_BATCH_SIZE"))
        if not rows:
            break
        for key, count in deliver(rows, claim_ts).items():
            stats[key] += count
    else:  # more due than one run should hold a worker for: continue in a fresh task
        current_app.extensions["celery"].send_task(SEND_TASK, retry=False, ignore_result=True)
    _schedule_followup()
    return stats


def claim_batch(limit: int) -> tuple[datetime, list]:
    now = utcnow()
    due = (select(Notification.id)
           .where(Notification.state == "pending", Notification.next_attempt_at <= now)
           .order_by(Notification.next_attempt_at, Notification.id)
           .limit(limit).with_for_update(skip_locked=True))
    ids = db.session.scalars(
        update(Notification).where(Notification.id.in_(due))
        .values(claimed_at=now, next_attempt_at=now + timedelta(seconds=cfg("MAIL_LEASE_SECONDS")))
        .returning(Notification.id).execution_options(synchronize_session=False)).all()
    rows = []
    if ids:
        # With what a notice recorded without its text needs to be rendered (smtp.content).
        rows = db.session.execute(
            select(Notification.id, Notification.kind, Notification.recipient, Notification.subject,
                   Notification.body, Notification.dedupe_key, Notification.attempts,
                   Notification.loan_id, Notification.request_id, Loan.due_at, Loan.returned_at,
                   User.username, Book.title,
                   AccountLine.amount.label("fine"))
            .outerjoin(Loan, Loan.id == Notification.loan_id)
            .outerjoin(AccountLine, and_(AccountLine.loan_id == Notification.loan_id,
                                         AccountLine.kind == "overdue"))
            .outerjoin(User, User.id == Loan.user_id).outerjoin(Book, Book.id == Loan.book_id)
            .where(Notification.id.in_(ids)).order_by(Notification.id)).all()
    db.session.commit()
    return now, rows


def deliver(rows, claim_ts: datetime) -> dict:
    """Send claimed rows over one SMTP connection (reopened only after it breaks)."""
    stats = {"sent": 0, "retrying": 0, "failed": 0}
    smtp = None
    conn = db.engine.connect()
    if conn.dialect.name == "postgresql":
        # One statement per commit (the ledger's), so autocommit: no COMMIT round trip.
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
    with conn:
        ledger = Ledger(conn)
        try:
            for index, row in enumerate(rows):
                if smtp is None:
                    try:
                        smtp = connect()
                    except (OSError, smtplib.SMTPException) as e:
                        log.warning("SMTP server unreachable, %s message(s) kept pending: %s",
                                    len(rows) - index, e)
                        for left in rows[index:]:
                            stats[_unreached(ledger, left, claim_ts, f"SMTP connect: {e}")] += 1
                        return stats
                try:
                    subject, body = content(row)
                    message = build_message(row, subject, body)
                except (ValueError, TypeError) as e:  # e.g. an address no header can carry
                    stats[_failure(ledger, row, "pending", claim_ts, f"invalid message: {e}",
                                   False)] += 1
                    continue
                flip_ts = utcnow()
                if not ledger.flip(row.id, claim_ts, flip_ts):
                    continue  # the lease passed and another worker took it
                try:
                    send(smtp, message)
                except NotSent as e:
                    # The connection was gone before this message began: retried, on a new one.
                    stats[_failure(ledger, row, "sending", flip_ts, f"connection lost before sending: {e}",
                                   True)] += 1
                    smtp = close(smtp)
                except smtplib.SMTPRecipientsRefused as e:
                    codes = [code for code, _ in e.recipients.values()]
                    stats[_failure(ledger, row, "sending", flip_ts,
                                   f"recipient refused: {e.recipients}",
                                   all(400 <= c < 500 for c in codes))] += 1
                except smtplib.SMTPResponseException as e:
                    stats[_failure(ledger, row, "sending", flip_ts,
                                   f"{e.smtp_code} {text(e.smtp_error)}", 400 <= e.smtp_code < 500)] += 1
                    if e.smtp_code == 421:  # the server is closing the channel
                        smtp = close(smtp)
                except (OSError, smtplib.SMTPException) as e:
                    # The connection broke mid-transaction: the server may have accepted it.
                    ledger.record(outcome(row.id, flip_ts, state="failed",
                                          last_error=f"{BROKE_IN_DATA} ({e})"))
                    stats["failed"] += 1
                    smtp = close(smtp)
                else:
                    ledger.record(sent(row.id, flip_ts, utcnow(), _kept_text(row, subject, body)))
                    stats["sent"] += 1
        finally:
            ledger.flush()
            close(smtp)
    return stats


def backoff(attempts: int) -> timedelta:
    """Exponential in the attempt number, with "equal jitter" so retries spread out."""
    delay = min(float(cfg("MAIL_RETRY_MAX_SECONDS")),
                float(cfg("MAIL_RETRY_BASE_SECONDS")) * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=delay / 2 + random.uniform(0, delay / 2))


def _kept_text(row, subject: str, body: str) -> dict:
    """What the table keeps of a delivered message: the text it was rendered with,
    except a body carrying a secret, which is redacted."""
    if row.kind in SECRET_KINDS:
        return {"body": REDACTED_BODY}
    return {"subject": subject, "body": body} if row.body is None else {}


def _failure(ledger: Ledger, row, from_state: str, token: datetime, error: str,
             transient: bool) -> str:
    attempts = row.attempts + 1
    if transient and attempts < cfg("MAIL_MAX_ATTEMPTS"):
        values = {"state": "pending", "next_attempt_at": utcnow() + backoff(attempts), "claimed_at": None}
        outcome = "retrying"
    else:
        values = {"state": "failed"}
        outcome = "failed"
        log.warning("Notification %s failed for good after %s attempt(s): %s", row.id, attempts, error)
    ledger.record((update(T).where(T.c.id == row.id, T.c.state == from_state, T.c.claimed_at == token)
                   .values(attempts=T.c.attempts + 1, last_error=error[:2000], **values), None))
    return outcome


def _unreached(ledger: Ledger, row, token: datetime, error: str) -> str:
    """The server was not reached, so the message was not tried: pending again."""
    ledger.record((update(T).where(T.c.id == row.id, T.c.state == "pending", T.c.claimed_at == token)
                   .values(next_attempt_at=utcnow() + backoff(row.attempts + 1), claimed_at=None,
                           last_error=error[:2000]), None))
    return "retrying"


def _reap_stale(now: datetime) -> int:
    stale = now - timedelta(seconds=cfg("MAIL_LEASE_SECONDS"))
    done = db.session.execute(
        update(Notification).where(Notification.state == "sending", Notification.claimed_at < stale)
        .values(state="failed", last_error=OUTCOME_UNKNOWN, attempts=Notification.attempts + 1)
        .execution_options(synchronize_session=False))
    db.session.commit()
    if done.rowcount:
        log.warning("%s notification(s) left in 'sending' by a lost worker marked failed (outcome "
                    "unknown)", done.rowcount)
    return done.rowcount


# Record the wake-up time unless one at least as early is already scheduled: a retry
# due in seconds must not wait behind a wake-up set for a lease expiry minutes away.
_EARLIER_WAKE = """
local current = redis.call("get", KEYS[1])
if current and tonumber(current) <= tonumber(ARGV[1]) then return 0 end
redis.call("set", KEYS[1], ARGV[1], "PX", ARGV[2])
return 1
"""


def _schedule_followup() -> None:
    """Wake up for the next retry (or lease expiry) instead of waiting for the sweep."""
    now = utcnow()
    lease = timedelta(seconds=cfg("MAIL_LEASE_SECONDS"))
    pending = db.session.scalar(select(func.min(Notification.next_attempt_at))
                                .where(Notification.state == "pending"))
    sending = db.session.scalar(select(func.min(Notification.claimed_at))
                                .where(Notification.state == "sending"))
    db.session.commit()
    wakes = [t for t in (pending, sending + lease if sending else None) if t is not None]
    if not wakes:
        return
    delay = max(0.0, (min(wakes) - now).total_seconds()) + 0.05
    if delay > FOLLOWUP_HORIZON:
        return
    try:
        wake_ms = int((now.timestamp() + delay) * 1000)
        if get_redis().eval(_EARLIER_WAKE, 1, FOLLOWUP_KEY, wake_ms, int((delay + 60) * 1000)):
            current_app.extensions["celery"].send_task(SEND_TASK, kwargs={"followup": True},
                                                       countdown=delay, retry=False,
                                                       ignore_result=True)
    except Exception:  # noqa: BLE001 - the periodic sweep is the backstop
        log.warning("Could not schedule the outbox follow-up; the sweep will retry", exc_info=True)


def _forget_followup() -> None:
    try:
        get_redis().delete(FOLLOWUP_KEY)
    except RedisError:
        log.warning("Could not clear %s", FOLLOWUP_KEY)
