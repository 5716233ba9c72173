"""`flask create-admin`."""

from sqlalchemy import select

from api.extensions import db
from api.models import User


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["create-admin", *args], input=input)


def test_create_admin(app, client, outbox):
    result = run(app, "--email", "Root@Example.com", "--username", "Root", "--password", "a long password")
    assert result.exit_code == 0, result.output
    assert "Admin root" in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "root"))
        assert (user.role, user.email, user.is_active) == ("admin", "root@example.com", True)
        assert user.password_hash.startswith("$argon2id$")
    assert outbox("welcome") == []
    login = client.post("/users/login", json={"email": "root@example.com", "password": "a long password"})
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    assert client.get("/users", headers=headers).status_code == 200


def test_create_admin_prompts_for_missing_values(app):
    result = run(app, "--email", "root@example.com", input="root\na long password\na long password\n")
    assert result.exit_code == 0, result.output
    assert "a long password" not in result.output


def test_create_admin_refuses_duplicates(app):
    assert run(app, "--email", "root@example.com", "--username", "root", "--password", "a long password"
               ).exit_code == 0
    result = run(app, "--email", "ROOT@example.com", "--username", "other", "--password", "a long password")
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_create_admin_validates_input(app):
    result = run(app, "--email", "nope", "--username", "r", "--password", "short")
    assert result.exit_code != 0
    assert "Invalid input" in result.output
    with app.app_context():
        assert db.session.scalar(select(User)) is None
