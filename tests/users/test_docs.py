"""The /users part of the OpenAPI document matches what the views do."""


def users_operations(client):
    spec = client.get("/apispec.json").get_json()
    for path, item in spec["paths"].items():
        # /users/<id>/account... and /users/<id>/blocks are other blueprints (tests/accounts).
        if path.endswith(("/account", "/lines", "/lines/{line_id}", "/payments", "/waivers",
                          "/charges", "/blocks", "/blocks/{block_id}")):
            continue
        if path == "/users" or path.startswith("/users/"):
            for method, op in item.items():
                yield f"{method.upper()} {path}", op, spec


def test_every_users_operation_documents_its_errors(client):
    ops = list(users_operations(client))
    assert len(ops) == 12
    for name, op, _ in ops:
        statuses = set(op["responses"])
        assert "429" in statuses, name
        if op.get("security"):
            assert "401" in statuses, name
        if "requestBody" in op:
            assert {"400", "413", "415"} <= statuses, name
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.startswith("#/components/schemas/"), name


def test_admin_operations_document_403(client):
    for name, op, _ in users_operations(client):
        if name.startswith(("GET /users/{", "PATCH /users/{", "DELETE /users/{")) or name == "GET /users":
            assert "403" in op["responses"], name


def test_user_out_matches_real_responses(client, member):
    spec = client.get("/apispec.json").get_json()
    documented = set(spec["components"]["schemas"]["MeOut"]["properties"])  # UserOut + blocks
    assert set(client.get("/users/me", headers=member.headers).get_json()) == documented
    pair = set(spec["components"]["schemas"]["TokenPairOut"]["properties"])
    assert pair == {"access_token", "refresh_token", "token_type", "expires_in"}


def test_request_schemas_forbid_what_the_api_refuses(client):
    schemas = client.get("/apispec.json").get_json()["components"]["schemas"]
    assert "role" not in schemas["RegisterIn"]["properties"]
    assert "role" not in schemas["MeUpdateIn"]["properties"]
    assert "password" not in schemas["AdminUserUpdateIn"]["properties"]
    assert set(schemas["RegisterIn"]["required"]) == {"username", "email", "password"}
