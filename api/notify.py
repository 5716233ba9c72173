"""Recording notifications in the outbox.

`notify()` only adds a row to the current session: it commits (or rolls back) with
the change that caused it, so an email is never promised for a change that did not
happen nor lost for one that did. Sending is the worker's job (worker/mail.py).
After a commit that added rows, the app "kicks" the worker; if that fails the
periodic outbox sweep still finds the rows.
"""

import logging
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from api import request_id
from api.models import Notification

log = logging.getLogger(__name__)


def render(kind: str, **context: Any) -> tuple[str, str]:
    """Render templates/email/<kind>.txt; its first line is the subject."""
    # The compiled template directly: render_template would also run context
    # processors and signals, which these templates do not use, once per notice of
    # a batch job.
    text = current_app.jinja_env.get_template(f"email/{kind}.txt").render(**context)
    subject, _, body = text.partition("\n")
    return subject.removeprefix("Subject:").strip(), body.lstrip("\n")


def notify(session: Session, kind: str, *, recipient: str, dedupe_key: str,
           user_id: int | None = None, loan_id: int | None = None,
           hold_id: int | None = None, **context: Any) -> Notification:
    subject, body = render(kind, **context)
    row = Notification(kind=kind, dedupe_key=dedupe_key, recipient=recipient, subject=subject,
                       body=body, user_id=user_id, loan_id=loan_id, hold_id=hold_id,
                       request_id=request_id.current())
    session.add(row)
    session.info["outbox_dirty"] = True
    return row


@event.listens_for(Session, "after_commit")
def _kick_outbox(session: Session) -> None:
    if not session.info.pop("outbox_dirty", False) or not has_app_context():
        return
    kick = current_app.extensions.get("outbox_kick")
    if kick is None:
        return
    try:
        kick()
    except Exception:  # the sweep will deliver it; the request must not fail for this
        log.warning("Could not enqueue outbox delivery; the periodic sweep will send it",
                    exc_info=True)


@event.listens_for(Session, "after_rollback")
def _forget_outbox(session: Session) -> None:
    session.info.pop("outbox_dirty", None)
