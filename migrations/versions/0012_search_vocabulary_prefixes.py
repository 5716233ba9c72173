"""search vocabulary of every title and author word, for type-ahead prefixes

Revision ID: 0012
Revises: 0009

PostgreSQL only: search_words also takes numbers and words under 3 letters, with an
index in byte order, so that GET /books?q= can expand a last word that starts many
catalog words (README "Search"). SQLite reads its FTS5 vocabulary, which has them.
"""
from alembic import op

from api.models import search_index


revision = '0012'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    search_index.create(op.get_bind(), books=False, users=False, vocabulary=True)


def downgrade():
    search_index.drop(op.get_bind(), books=False, users=False, vocabulary=True)
