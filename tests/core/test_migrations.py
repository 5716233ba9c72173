"""The Alembic migrations build exactly the schema the models describe."""


import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from api import create_app
from api.extensions import db
from api.models import search_index


def test_upgrade_matches_models_and_downgrade_empties(empty_database_url, redis_url):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=empty_database_url, REDIS_URL=redis_url)
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            # The search index's database-specific objects are not in the models.
            context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                             "include_name": search_index.include_name})
            assert compare_metadata(context, db.metadata) == []
        flask_migrate.downgrade(revision="base")
        with db.engine.connect() as conn:
            tables = set(db.inspect(conn).get_table_names()) - {"alembic_version"}
        assert tables == set()
        db.engine.dispose()
