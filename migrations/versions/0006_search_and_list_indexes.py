"""search index and list indexes

Revision ID: 0006
Revises: 0008

PostgreSQL: needs the pg_trgm extension (CREATE EXTENSION; README "Search").
"""
from alembic import op
from sqlalchemy import text

from api.models import search_index


revision = '0006'
down_revision = '0008'
branch_labels = None
depends_on = None

# Single-column indexes that the new composite ones make redundant.
_REPLACED = {
    'books': ['ix_books_title', 'ix_books_author', 'ix_books_published_year', 'ix_books_created_at'],
    'loans': ['ix_loans_book_id'],
}
_OLD_COLUMNS = {'ix_books_title': ['title'], 'ix_books_author': ['author'],
                'ix_books_published_year': ['published_year'], 'ix_books_created_at': ['created_at'],
                'ix_loans_book_id': ['book_id']}
_NEW = [
    ('books', 'ix_books_title_id', ['title', 'id'], None),
    ('books', 'ix_books_author_id', ['author', 'id'], None),
    ('books', 'ix_books_published_year_id', ['published_year', 'id'], None),
    ('books', 'ix_books_created_at_id', ['created_at', 'id'], None),
    ('books', 'ix_books_none_available', ['id'], 'copies_available = 0'),
    ('loans', 'ix_loans_open_borrowed_at', ['borrowed_at', 'id'], 'returned_at IS NULL'),
    ('loans', 'ix_loans_book_id_borrowed_at', ['book_id', 'borrowed_at'], None),
    ('holds', 'ix_holds_created_at_id', ['created_at', 'id'], None),
    ('holds', 'ix_holds_status_created_at', ['status', 'created_at'], None),
    ('notifications', 'ix_notifications_state_id', ['state', 'id'], None),
    ('notifications', 'ix_notifications_kind_id', ['kind', 'id'], None),
    ('task_runs', 'ix_task_runs_name_requested_at', ['name', 'requested_at'], None),
    ('task_runs', 'ix_task_runs_state_requested_at', ['state', 'requested_at'], None),
    ('users', 'ix_users_role_id', ['role', 'id'], None),
    ('users', 'ix_users_is_active_id', ['is_active', 'id'], None),
]


def upgrade():
    for table, name, columns, where in _NEW:
        kw = {} if where is None else {'postgresql_where': text(where), 'sqlite_where': text(where)}
        op.create_index(name, table, columns, unique=False, **kw)
    for table, names in _REPLACED.items():
        for name in names:
            op.drop_index(name, table_name=table)
    search_index.create(op.get_bind())


def downgrade():
    search_index.drop(op.get_bind())
    for table, names in _REPLACED.items():
        for name in names:
            op.create_index(name, table, _OLD_COLUMNS[name], unique=False)
    for table, name, _columns, _where in reversed(_NEW):
        op.drop_index(name, table_name=table)
