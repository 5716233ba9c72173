"""Helpers for the /users tests."""

import pytest


@pytest.fixture
def register(client):
    """register(username, email=None, password=...) -> the response."""

    def post(username: str, email: str | None = None, password: str = "a long password", **extra):
        body = {"username": username, "email": email or f"{username}@example.com",
                "password": password, **extra}
        return client.post("/users/register", json=body)

    return post
