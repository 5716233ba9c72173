from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.clock import utcnow
from api.extensions import db
from api.models.types import UTCDateTime

ROLES = ("user", "admin")
DEFAULT_CATEGORY = "adult"


def default_category() -> str:
    """New members' patron category: DEFAULT_PATRON_CATEGORY (SPEC "Circulation rules")."""
    if has_app_context():
        return current_app.config.get("DEFAULT_PATRON_CATEGORY", DEFAULT_CATEGORY)
    return DEFAULT_CATEGORY


class User(db.Model):
    __tablename__ = "users"
    # GET /users?role=|is_active= in id order (migration 0006; ?q= uses trigram indexes,
    # api/models/search_index.py).
    __table_args__ = (Index("ix_users_role_id", "role", "id"),
                      Index("ix_users_is_active_id", "is_active", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # Stored lower-cased, so the unique constraint is case-insensitive.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="user")
    is_active: Mapped[bool] = mapped_column(default=True)
    # Selects the circulation rules that apply (api.rules.resolve).
    category: Mapped[str] = mapped_column(String(32), default=default_category,
                                          server_default=DEFAULT_CATEGORY)
    # Bumped on password change or deactivation: tokens carry it in `ver`, so older
    # tokens stop working at once without a denylist entry per token.
    token_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username}>"
