"""open loans indexed on (due_at, id), the keyset of the bulk jobs

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

OPEN = sa.text('returned_at IS NULL')


def upgrade():
    # Built before the old one goes, so the jobs always have an index to walk.
    op.create_index('ix_loans_open_due_at_id', 'loans', ['due_at', 'id'], unique=False,
                    postgresql_where=OPEN, sqlite_where=OPEN)
    op.drop_index('ix_loans_open_due_at', table_name='loans', postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade():
    op.create_index('ix_loans_open_due_at', 'loans', ['due_at'], unique=False,
                    postgresql_where=OPEN, sqlite_where=OPEN)
    op.drop_index('ix_loans_open_due_at_id', table_name='loans', postgresql_where=OPEN, sqlite_where=OPEN)
