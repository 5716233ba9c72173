"""Races that only a real concurrent database shows (PostgreSQL)."""


import pytest
from sqlalchemy import select

from api.extensions import db
from api.models import User
from tests import helpers
from tests.helpers import create_user, login

pytestmark = pytest.mark.postgres


def race(app, calls):
    """Run each callable(client) in its own thread, released together; their results."""
    return helpers.race(app, *[lambda call=call: call(app.test_client()) for call in calls])


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
