"""GET /admin/audit and api.audit.service.record."""

from api.audit.service import record
from api.extensions import db
from tests.helpers import is_problem


def _record(app, actor_id, action, object_type, object_id, data=None):
    with app.app_context():
        record(db.session, actor_id=actor_id, action=action, object_type=object_type,
               object_id=object_id, data=data)
        db.session.commit()


def test_lists_newest_first_and_filters(app, client, admin, member):
    _record(app, admin.id, "loan.due_date_changed", "loan", 7, {"due_at": "2026-12-01"})
    _record(app, admin.id, "item.updated", "item", 3)
    _record(app, None, "rule.created", "rule", 7)

    body = client.get("/admin/audit", headers=admin.headers).get_json()
    assert [e["action"] for e in body["items"]] == ["rule.created", "item.updated", "loan.due_date_changed"]
    assert body["meta"]["total"] == 3

    loan = client.get("/admin/audit?object_type=loan&object_id=7", headers=admin.headers).get_json()
    assert [(e["object_type"], e["object_id"], e["data"]) for e in loan["items"]] == [
        ("loan", "7", {"due_at": "2026-12-01"})]
    by_actor = client.get(f"/admin/audit?actor_id={admin.id}", headers=admin.headers).get_json()
    assert {e["actor_id"] for e in by_actor["items"]} == {admin.id}
    assert by_actor["meta"]["total"] == 2


def test_admin_only_and_bad_filters(client, member, admin):
    assert is_problem(client.get("/admin/audit", headers=member.headers), 403)
    assert is_problem(client.get("/admin/audit"), 401)
    assert is_problem(client.get("/admin/audit?actor_id=abc", headers=admin.headers), 400)


def test_rolled_back_change_leaves_no_entry(app, admin):
    with app.app_context():
        record(db.session, actor_id=admin.id, action="item.updated", object_type="item", object_id=1)
        db.session.rollback()
        from api.models import AuditEntry
        assert db.session.query(AuditEntry).count() == 0
