"""SMTP plumbing for the outbox worker: connections and message building."""

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask import current_app

from api.clock import utcnow
from api.request_id import stamp_request_id


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


def build_message(row) -> EmailMessage:
    sender = cfg("MAIL_DEFAULT_SENDER")
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = row.recipient
    msg["Subject"] = row.subject
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id(row.id, row.dedupe_key, sender)
    stamp_request_id(msg, getattr(row, "request_id", None))
    msg.set_content(row.body)
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
