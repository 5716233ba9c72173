"""The search index built by migration 0006 (not create_all) finds books, old and new."""


import flask_migrate

from api import create_app
from api.books import service
from api.extensions import db
from api.models import Book


def test_migrated_index_covers_existing_and_new_books(empty_database_url, redis_url):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=empty_database_url, REDIS_URL=redis_url)
    with app.app_context():
        flask_migrate.upgrade(revision="0002")
        db.session.add(Book(title="Existing Volume", author="Ann Archivist", isbn="9780306406157",
                            published_year=1999, copies_total=1, copies_available=1))
        db.session.commit()
        flask_migrate.upgrade()  # 0006 indexes the rows already there
        db.session.add(Book(title="Newer Volume", author="Ben Binder", isbn="9780747532699",
                            published_year=2001, copies_total=1, copies_available=1))
        db.session.commit()

        def titles(q):
            return [b.title for b in db.session.scalars(service.search_stmt(db.session, {"q": q}))]

        assert titles("volume") == ["Existing Volume", "Newer Volume"]
        assert titles("archiv") == ["Existing Volume"]
        assert titles("0-306-40615-2") == ["Existing Volume"]
        assert service.search.close_words(db.session, ["archivst", "bindr"]) == {
            "archivst": ["archivist"], "bindr": ["binder"]}
        db.session.remove()
        flask_migrate.downgrade(revision="0002")
        db.engine.dispose()
