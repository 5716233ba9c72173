"""/admin/rules: CRUD, refusals, the effective endpoint and the audit trail."""

import pytest

from tests.conftest import is_problem


def audit(client, admin, object_type):
    body = client.get(f"/admin/audit?object_type={object_type}", headers=admin.headers).get_json()
    return [(e["action"], e["object_id"], e["data"], e["actor_id"]) for e in body["items"]]


def default_rule(client, admin) -> dict:
    response = client.get("/admin/rules?patron_category=*&item_type=*", headers=admin.headers)
    [rule] = response.get_json()["items"]
    return rule


def test_create_list_update_delete(client, admin, app):
    default = default_rule(client, admin)
    assert default["loan_days"] == app.config["LOAN_PERIOD_DAYS"]
    assert all(default[k] is not None for k in default)

    created = client.post("/admin/rules", headers=admin.headers,
                          json={"patron_category": "child", "item_type": "*", "loan_days": 7, "max_loans": 2})
    assert created.status_code == 201
    rule = created.get_json()
    assert created.headers["Location"].endswith(f"/admin/rules/{rule['id']}")
    assert client.get(created.headers["Location"], headers=admin.headers).get_json() == rule
    assert rule["max_renewals"] is None and rule["loan_days"] == 7

    listed = client.get("/admin/rules", headers=admin.headers).get_json()
    assert [r["id"] for r in listed["items"]] == [default["id"], rule["id"]]
    assert listed["meta"]["total"] == 2

    patched = client.patch(f"/admin/rules/{rule['id']}", headers=admin.headers,
                           json={"loan_days": None, "max_renewals": 1})
    assert patched.status_code == 200
    assert (patched.get_json()["loan_days"], patched.get_json()["max_renewals"]) == (None, 1)

    assert client.delete(f"/admin/rules/{rule['id']}", headers=admin.headers).status_code == 204
    assert is_problem(client.get(f"/admin/rules/{rule['id']}", headers=admin.headers), 404)
    assert [(a, o) for a, o, _d, _u in audit(client, admin, "rule")] == [
        (f"rule.{verb}", str(rule["id"])) for verb in ("deleted", "updated", "created")]
    assert audit(client, admin, "rule")[1][2] == {"loan_days": [7, None], "max_renewals": [None, 1]}
    assert {u for *_rest, u in audit(client, admin, "rule")} == {admin.id}


def test_duplicate_pair_is_refused(client, admin):
    body = {"patron_category": "child", "item_type": "dvd", "loan_days": 3}
    assert client.post("/admin/rules", headers=admin.headers, json=body).status_code == 201
    again = client.post("/admin/rules", headers=admin.headers, json=body)
    assert is_problem(again, 409) and again.get_json()["code"] == "duplicate"
    star = client.post("/admin/rules", headers=admin.headers, json={"patron_category": "*", "item_type": "*"})
    assert is_problem(star, 409) and star.get_json()["code"] == "duplicate"


def test_default_rule_cannot_be_deleted_nor_inherit(client, admin):
    default = default_rule(client, admin)
    refused = client.delete(f"/admin/rules/{default['id']}", headers=admin.headers)
    assert is_problem(refused, 409) and refused.get_json()["code"] == "default_rule"
    nulled = client.patch(f"/admin/rules/{default['id']}", headers=admin.headers, json={"loan_days": None})
    assert is_problem(nulled, 400) and "loan_days" in nulled.get_json()["errors"]
    changed = client.patch(f"/admin/rules/{default['id']}", headers=admin.headers, json={"loan_days": 21})
    assert changed.get_json()["loan_days"] == 21
    assert default_rule(client, admin)["loan_days"] == 21


@pytest.mark.parametrize("body", [
    {"patron_category": "Child", "item_type": "*"},
    {"patron_category": "a b", "item_type": "*"},
    {"patron_category": "x" * 33, "item_type": "*"},
    {"patron_category": "", "item_type": "*"},
    {"patron_category": "**", "item_type": "*"},
    {"patron_category": "child"},
    {"patron_category": "child", "item_type": "*", "loan_days": 0},
    {"patron_category": "child", "item_type": "*", "loan_days": "7"},
    {"patron_category": "child", "item_type": "*", "max_loans": -1},
    {"patron_category": "child", "item_type": "*", "max_fine": 1.5},
    {"patron_category": "child", "item_type": "*", "max_loans": True},
    {"patron_category": "child", "item_type": "*", "colour": "red"},
])
def test_invalid_rules_are_refused(client, admin, body):
    assert is_problem(client.post("/admin/rules", headers=admin.headers, json=body), 400)


def test_pair_cannot_be_patched(client, admin):
    rule = client.post("/admin/rules", headers=admin.headers,
                       json={"patron_category": "child", "item_type": "*"}).get_json()
    moved = client.patch(f"/admin/rules/{rule['id']}", headers=admin.headers, json={"item_type": "dvd"})
    assert is_problem(moved, 400)


def test_effective_explains_each_value(client, admin, app):
    default = default_rule(client, admin)
    dvd = client.post("/admin/rules", headers=admin.headers,
                      json={"patron_category": "*", "item_type": "dvd", "loan_days": 7}).get_json()
    child = client.post("/admin/rules", headers=admin.headers,
                        json={"patron_category": "child", "item_type": "*", "max_loans": 2}).get_json()
    response = client.get("/admin/rules/effective?patron_category=child&item_type=dvd", headers=admin.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["values"]["loan_days"] == 7 and body["sources"]["loan_days"] == dvd["id"]
    assert body["values"]["max_loans"] == 2 and body["sources"]["max_loans"] == child["id"]
    assert body["values"]["max_renewals"] == app.config["MAX_RENEWALS"]
    assert body["sources"]["max_renewals"] == default["id"]
    assert (body["patron_category"], body["item_type"]) == ("child", "dvd")


def test_effective_needs_valid_codes(client, admin):
    for query in ("", "?patron_category=child", "?patron_category=Child&item_type=dvd",
                  "?patron_category=child&item_type=" + "x" * 40):
        assert is_problem(client.get("/admin/rules/effective" + query, headers=admin.headers), 400)


def test_rules_are_for_admins(client, member):
    assert is_problem(client.get("/admin/rules", headers=member.headers), 403)
    assert is_problem(client.post("/admin/rules", headers=member.headers,
                                  json={"patron_category": "child", "item_type": "*"}), 403)
    assert is_problem(client.get("/admin/rules/effective?patron_category=a&item_type=b"), 401)
    assert is_problem(client.delete("/admin/rules/1", headers=member.headers), 403)


def test_unknown_rule_is_404(client, admin):
    assert is_problem(client.patch("/admin/rules/999", headers=admin.headers, json={}), 404)
    assert is_problem(client.delete("/admin/rules/999", headers=admin.headers), 404)
    assert is_problem(client.get("/admin/rules/99999999999", headers=admin.headers), 404)
