"""Helpers for the /users tests."""

import pytest
from sqlalchemy import select

from api.extensions import db
from api.models import Notification


@pytest.fixture
def register(client):
    """register(username, email=None, password=...) -> the response."""

    def post(username: str, email: str | None = None, password: str = "a long password", **extra):
        body = {"username": username, "email": email or f"{username}@example.com",
                "password": password, **extra}
        return client.post("/users/register", json=body)

    return post


@pytest.fixture
def outbox(app):
    """outbox(kind) -> the notification rows of that kind, oldest first."""

    def rows(kind: str) -> list[Notification]:
        with app.app_context():
            stmt = select(Notification).where(Notification.kind == kind).order_by(Notification.id)
            rows = db.session.scalars(stmt).all()
            db.session.expunge_all()
            return rows

    return rows
