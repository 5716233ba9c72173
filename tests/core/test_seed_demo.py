from sqlalchemy import func, select

from api.extensions import db
from api.models import Book, User


def counts(app):
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Book)),
                db.session.scalar(select(func.count()).select_from(User)))


def test_seed_demo_creates_catalog_and_members_once(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    books, users = counts(app)
    assert books >= 5 and users == 2
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and counts(app) == (books, users)
    response = client.post("/users/login", json={"email": "alice@example.com", "password": "password123"})
    assert response.status_code == 200
