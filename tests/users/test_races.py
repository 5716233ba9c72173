"""Races that only a real concurrent database shows (PostgreSQL)."""

import threading

import pytest
from sqlalchemy import select

from api.extensions import db
from api.models import User
from tests.conftest import create_user, login

pytestmark = pytest.mark.postgres


def race(app, calls):
    """Run each callable(client) in its own thread, released together; their results."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        client = app.test_client()
        barrier.wait()
        results[i] = call(client)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_registrations_with_one_email(app):
    def register(name):
        return lambda c: c.post("/users/register", json={
            "username": name, "email": "same@example.com", "password": "a long password"}).status_code

    statuses = race(app, [register(f"user{i}") for i in range(4)])
    assert sorted(statuses) == [201, 409, 409, 409]


def test_two_admins_demoting_each_other_leave_one_admin(app):
    a = login(app.test_client(), create_user(app, "root1", role="admin"))
    b = login(app.test_client(), create_user(app, "root2", role="admin"))

    def demote(actor, target):
        return lambda c: c.patch(f"/users/{target.id}", json={"role": "user"},
                                 headers=actor.headers).status_code

    statuses = race(app, [demote(a, b), demote(b, a)])
    assert sorted(statuses) in ([200, 403], [200, 409])
    with app.app_context():
        admins = db.session.scalars(select(User).where(User.role == "admin")).all()
        assert len(admins) == 1


def test_refresh_token_raced_once_is_granted_at_most_once(app):
    acct = login(app.test_client(), create_user(app, "carol"))

    def refresh(c):
        return c.post("/users/refresh", headers=acct.headers | {
            "Authorization": f"Bearer {acct.refresh_token}"}).status_code

    statuses = race(app, [refresh] * 4)
    assert statuses.count(200) <= 1
    assert set(statuses) <= {200, 401}
