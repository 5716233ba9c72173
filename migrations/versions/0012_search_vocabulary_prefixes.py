"""search vocabulary of every title and author word, for type-ahead prefixes; open
loans by borrowed_at include due_at

Revision ID: 0012
Revises: 0011

PostgreSQL only: search_words also takes numbers and words under 3 letters, with an
index in byte order, so that GET /books?q= can expand a last word that starts many
catalog words (README "Search"). SQLite reads its FTS5 vocabulary, which has them.
ix_loans_open_borrowed_at INCLUDE (due_at) on PostgreSQL (SQLite has no INCLUDE):
?status=overdue reads a page's ids from the index alone.
"""
from alembic import op
from sqlalchemy import text

from api.models import search_index


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    search_index.create(op.get_bind(), books=False, users=False, vocabulary=True)
    _open_loans_index(include=['due_at'])


def downgrade():
    _open_loans_index(include=[])
    search_index.drop(op.get_bind(), books=False, users=False, vocabulary=True)


def _open_loans_index(include):
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_loans_open_borrowed_at', table_name='loans')
    op.create_index('ix_loans_open_borrowed_at', 'loans', ['borrowed_at', 'id'], unique=False,
                    postgresql_where=text('returned_at IS NULL'), postgresql_include=include)
