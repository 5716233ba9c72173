"""`flask create-admin` and `flask seed-demo`."""

import click
from flask import Flask
from sqlalchemy import select

from api.extensions import db
from api.models import Book, User
from api.passwords import hash_password


def register_cli(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.option("--email", prompt=True)
    @click.option("--username", prompt=True)
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    def create_admin(email: str, username: str, password: str) -> None:
        """Create an admin account (prompts for what is missing)."""
        from marshmallow import ValidationError

        from api.errors import ApiError
        from api.users.schemas import RegisterIn
        from api.users.service import register_user

        try:
            data = RegisterIn().load({"email": email, "username": username, "password": password})
            # No welcome email: it speaks to members about borrowing.
            user = register_user(db.session, data["username"], data["email"], data["password"],
                                 role="admin", welcome=False)
        except ValidationError as e:
            raise click.ClickException(f"Invalid input: {e.messages}") from None
        except ApiError as e:
            raise click.ClickException(e.detail) from None
        click.echo(f"Admin {user.username} (id {user.id}) created.")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Add a demo catalog and two members (idempotent)."""
        from api.books.isbn import normalise_isbn
        from api.circulation.items import add_items

        for title, author, isbn, year, copies in DEMO_BOOKS:
            isbn13 = normalise_isbn(isbn)
            if db.session.scalar(select(Book.id).where(Book.isbn == isbn13)) is None:
                book = Book(title=title, author=author, isbn=isbn13, published_year=year,
                            copies_total=0, copies_available=0)
                db.session.add(book)
                db.session.flush()
                add_items(db.session, book.id, copies)  # the copies, with generated barcodes
        for username in ("alice", "bob"):
            if db.session.scalar(select(User.id).where(User.username == username)) is None:
                db.session.add(User(username=username, email=f"{username}@example.com",
                                    password_hash=hash_password("password123")))
        db.session.commit()
        click.echo("Demo data ready: members alice@example.com and bob@example.com, "
                   "password 'password123'.")


DEMO_BOOKS = [
    ("The Hobbit", "J. R. R. Tolkien", "978-0-261-10295-8", 1937, 3),
    ("Dune", "Frank Herbert", "978-0-441-17271-9", 1965, 2),
    ("Neuromancer", "William Gibson", "978-0-441-56959-5", 1984, 1),
    ("The Left Hand of Darkness", "Ursula K. Le Guin", "978-0-441-47812-5", 1969, 2),
    ("Kindred", "Octavia E. Butler", "978-0-8070-8305-5", 1979, 1),
    ("Beloved", "Toni Morrison", "978-1-4000-3341-6", 1987, 2),
]
