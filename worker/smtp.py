"""SMTP plumbing for the outbox worker: connections and message building."""

import hashlib
import smtplib
import ssl
from email.charset import QP, Charset
from email.header import Header
from email.message import EmailMessage
from email.mime.text import MIMEText
from email.utils import format_datetime, parseaddr

from flask import current_app

from api.accounts.currency import format_amount
from api.clock import utcnow
from api.notify import render
from api.request_id import stamp_request_id


def cfg(key: str):
    return current_app.config[key]


class Connection(smtplib.SMTP):
    """smtplib's client, noting when the message in hand reaches the DATA phase: until
    then the server cannot have accepted it, so a connection that breaks before (a
    server that closed an idle connection, or one after N messages, without a 421)
    leaves the message unsent, to be sent again, not of unknown outcome."""

    handed_over = False

    def data(self, msg):
        self.handed_over = True
        return super().data(msg)


class NotSent(Exception):
    """The connection broke before the message was handed over: it was not delivered."""


def connect() -> Connection:
    smtp = Connection(cfg("MAIL_SERVER"), cfg("MAIL_PORT"), timeout=cfg("MAIL_TIMEOUT"))
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
    if getattr(row, "returned_at", None) is not None:  # an overdue or due-soon notice
        raise ValueError("the loan was returned before this notice went out; not sent")
    # The loan's overdue line as the last fines-accrual (or its return) left it; no
    # line, or 0, says nothing (a library that charges no fines sends what it always did).
    fine = getattr(row, "fine", None)
    subject, body = render(row.kind, title=row.title, username=row.username, due_at=row.due_at,
                           loan_id=row.loan_id,
                           fine=format_amount(fine, cfg("CURRENCY")) if fine else None)
    return subject[:300], body


def build_message(row, subject: str, body: str) -> EmailMessage | MIMEText:
    """The one place an outgoing message and its headers are put together."""
    sender = cfg("MAIL_DEFAULT_SENDER")
    headers = {"From": sender, "To": row.recipient, "Subject": subject,
               "Date": format_datetime(utcnow()),
               "Message-ID": message_id(row.id, row.dedupe_key, sender)}
    if any("\r" in value or "\n" in value for value in headers.values()):
        raise ValueError("a header value contains a line break")
    if not (sender.isascii() and row.recipient.isascii()):
        # Non-ASCII addresses need the modern policy (and SMTPUTF8 from the server).
        msg = EmailMessage()
        for name, value in headers.items():
            msg[name] = value
        msg.set_content(body)
        stamp_request_id(msg, getattr(row, "request_id", None))
        return msg
    # ASCII addresses (nearly all): the legacy email API, which stores headers as
    # given instead of parsing each one; 5x less CPU per message than EmailMessage
    # (measured: bench/findings.md). Only the subject can need RFC 2047 encoding.
    msg = MIMEText(body, "plain", "us-ascii" if body.isascii() else _UTF8_QP)
    if not subject.isascii():
        headers["Subject"] = Header(subject, "utf-8").encode()
    for name, value in headers.items():
        msg[name] = value
    stamp_request_id(msg, getattr(row, "request_id", None))
    return msg


_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


def send(smtp: Connection, msg) -> None:
    """Hand a built message to the server (the envelope comes from its headers).
    NotSent when the connection broke before the DATA phase."""
    smtp.handed_over = False
    try:
        if isinstance(msg, EmailMessage):
            smtp.send_message(msg)
        else:
            smtp.sendmail(parseaddr(msg["From"])[1], [msg["To"]], msg.as_bytes())
    except (OSError, smtplib.SMTPServerDisconnected) as e:
        if smtp.handed_over:
            raise
        raise NotSent(e) from e


def close(smtp):
    if smtp is not None:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return None


def text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
