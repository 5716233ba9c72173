"""SMTP plumbing for the outbox worker: connections and message building."""

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask import current_app

from api.clock import utcnow
from api.notify import render


def cfg(key: str):
    return current_app.config[key]


def connect() -> smtplib.SMTP:
    smtp = smtplib.SMTP(cfg("MAIL_SERVER"), cfg("MAIL_PORT"), timeout=cfg("MAIL_TIMEOUT"))
    try:
        smtp.ehlo()
        if cfg("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if cfg("MAIL_USERNAME"):
            smtp.login(cfg("MAIL_USERNAME"), cfg("MAIL_PASSWORD") or "")
    except BaseException:
        close(smtp)
        raise
    return smtp


def message_id(notification_id: int, dedupe_key: str, sender: str) -> str:
    """Stable per notification, so a receiving server can spot a duplicate too."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "library.localhost"
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:16]
    return f"<notification.{notification_id}.{digest}@{domain}>"


def content(row) -> tuple[str, str]:
    """(subject, body): as recorded, or rendered now for a notice a job recorded
    without them (overdue, due soon), from its loan as it is at sending time."""
    if row.body is not None:
        return row.subject, row.body
    if row.title is None:
        raise ValueError("the loan this notice is about no longer exists")
    subject, body = render(row.kind, title=row.title, username=row.username, due_at=row.due_at,
                           loan_id=row.loan_id)
    return subject[:300], body


def build_message(row, subject: str, body: str) -> EmailMessage:
    """The one place an outgoing message and its headers are put together."""
    sender = cfg("MAIL_DEFAULT_SENDER")
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = row.recipient
    msg["Subject"] = subject
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id(row.id, row.dedupe_key, sender)
    msg.set_content(body)
    return msg


def close(smtp):
    if smtp is not None:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return None


def text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
