"""The account rules called directly, without HTTP (as the CLI and jobs do)."""

import pytest

from api.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from api.extensions import db
from api.users import service


def test_register_and_authenticate(app_ctx, outbox):
    user = service.register_user(db.session, "carol", "carol@example.com", "a long password")
    assert service.authenticate_credentials(db.session, "carol@example.com", "a long password").id == user.id
    with pytest.raises(Unauthorized) as wrong:
        service.authenticate_credentials(db.session, "carol@example.com", "wrong password")
    with pytest.raises(Unauthorized) as unknown:
        service.authenticate_credentials(db.session, "nobody@example.com", "a long password")
    assert wrong.value.detail == unknown.value.detail
    assert len(outbox("welcome")) == 1


def test_register_duplicate_raises_conflict(app_ctx):
    service.register_user(db.session, "carol", "carol@example.com", "a long password")
    with pytest.raises(Conflict) as e:
        service.register_user(db.session, "carol", "carol@example.com", "a long password")
    assert set(e.value.errors) == {"username", "email"}


def test_change_me_rules(app_ctx):
    user = service.register_user(db.session, "carol", "carol@example.com", "a long password")
    with pytest.raises(BadRequest):
        service.change_me(db.session, user, {"password": "another password"})
    with pytest.raises(Forbidden):
        service.change_me(db.session, user, {"email": "c@example.com", "current_password": "nope nope"})
    version = user.token_version
    service.change_me(db.session, user,
                      {"password": "another password", "current_password": "a long password"})
    assert user.token_version == version + 1


def test_admin_rules(app_ctx):
    admin = service.register_user(db.session, "root", "root@example.com", "a long password", role="admin",
                                  welcome=False)
    with pytest.raises(Conflict):
        service.update_user(db.session, admin.id, {"role": "user"})
    with pytest.raises(NotFound):
        service.get_user(db.session, 12345)
    member = service.register_user(db.session, "carol", "carol@example.com", "a long password")
    version = member.token_version
    assert service.update_user(db.session, member.id, {"is_active": False}).token_version == version + 1


def test_reset_round_trip(app_ctx, outbox):
    import re

    user = service.register_user(db.session, "carol", "carol@example.com", "a long password")
    service.request_password_reset(db.session, "carol@example.com")
    service.request_password_reset(db.session, "nobody@example.com")
    rows = outbox("password_reset")
    assert len(rows) == 1
    token = re.search(r"^\s{4}(\S+)$", rows[0].body, re.M).group(1)
    assert service.confirm_password_reset(db.session, token, "brand new password").id == user.id
    with pytest.raises(BadRequest):
        service.confirm_password_reset(db.session, token, "brand new password")
