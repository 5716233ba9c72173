"""The account and block operations are documented with the errors they answer."""

ACCOUNT_PATHS = ("/account", "/lines", "/payments", "/waivers", "/charges", "/blocks")


def operations(client):
    spec = client.get("/apispec.json").get_json()
    for path, item in spec["paths"].items():
        if path.startswith("/users/") and any(part in path for part in ACCOUNT_PATHS):
            for method, op in item.items():
                yield f"{method.upper()} {path}", op


def test_every_operation_documents_auth_and_its_errors(client):
    ops = dict(operations(client))
    assert len(ops) == 12
    for name, op in ops.items():
        statuses = set(op["responses"])
        assert {"401", "429"} <= statuses, name
        if "/me/" not in name and not name.startswith("GET /users/{user_id}/account"):
            assert "403" in statuses, name  # admin only
        if name.startswith("POST"):
            assert {"201", "400", "404"} <= statuses and "Location" in op["responses"]["201"]["headers"], name
    for name in ("POST /users/{user_id}/account/payments", "POST /users/{user_id}/account/waivers"):
        assert "409" in ops[name]["responses"], name


def test_line_schema_matches_real_lines(client, admin, member):
    spec = client.get("/apispec.json").get_json()
    line = client.post(f"/users/{member.id}/account/charges", json={"amount": 5, "note": "card"},
                       headers=admin.headers).get_json()
    assert set(line) == set(spec["components"]["schemas"]["AccountLineOut"]["properties"])
    block = client.post(f"/users/{member.id}/blocks", json={"reason": "x"}, headers=admin.headers).get_json()
    assert set(block) == set(spec["components"]["schemas"]["BlockOut"]["properties"])
