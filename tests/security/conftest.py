"""Fixtures for the OWASP API Security Top 10 (2023) suite; see README.md here."""

import pytest


@pytest.fixture
def loan_of(client):
    """loan_of(account, book_id) -> the id of a new loan for that member."""

    def borrow(account, book_id: int) -> int:
        response = client.post("/loans", json={"book_id": book_id}, headers=account.headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    return borrow


@pytest.fixture
def hold_of(client):
    """hold_of(account, book_id) -> the id of a new hold for that member."""

    def place(account, book_id: int) -> int:
        response = client.post("/holds", json={"book_id": book_id}, headers=account.headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    return place
