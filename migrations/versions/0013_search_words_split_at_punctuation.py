"""search words split at punctuation on PostgreSQL, as a query's are

Revision ID: 0013
Revises: 0012

PostgreSQL's text search parser kept "node.js", "j.r.r" and "2.0" as single tokens while
GET /books?q= splits the words typed at punctuation, so "node action" did not find
"Node.js in Action" (SQLite's FTS5 tokenizer already splits them). The generated
books.search_vector is rebuilt over the text with punctuation as spaces (a table
rewrite: about a minute per million books), and the vocabulary takes the split words.
SQLite: nothing to do.
"""
from alembic import op

from api.models import search_index


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    search_index.create(op.get_bind(), books=False, users=False, split=True)


def downgrade():
    search_index.drop(op.get_bind(), books=False, users=False, split=True)
