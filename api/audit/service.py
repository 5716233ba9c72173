"""Recording staff actions. Call `record` inside the transaction that makes the change,
so the change and its record commit (or roll back) together."""

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from api.models import AuditEntry


def record(session: Session, *, actor_id: int | None, action: str, object_type: str,
           object_id: int | str, data: dict[str, Any] | None = None) -> AuditEntry:
    """Add an audit entry to `session` (not committed). `action` is "<object>.<verb>",
    e.g. "loan.due_date_changed"; `data` holds what changed (never secrets)."""
    entry = AuditEntry(actor_id=actor_id, action=action, object_type=object_type,
                       object_id=str(object_id), data=data)
    session.add(entry)
    return entry


def audit_stmt(*, object_type: str | None = None, object_id: str | None = None,
               actor_id: int | None = None) -> Select:
    """Entries matching the filters, newest first."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if object_type is not None:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    if actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    return stmt
