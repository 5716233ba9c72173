"""hold suspension: holds.suspended_until

Revision ID: 0010
Revises: 0009

A plain ADD COLUMN (nullable, no default), so SQLite needs no batch rebuild either way.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import text


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_WHERE = "status = 'waiting' AND suspended_until IS NOT NULL"


def upgrade():
    op.add_column('holds', sa.Column('suspended_until', sa.Date(), nullable=True))
    op.create_index('ix_holds_waiting_suspended_until', 'holds', ['suspended_until', 'book_id'],
                    unique=False, postgresql_where=text(_WHERE), sqlite_where=text(_WHERE))


def downgrade():
    op.drop_index('ix_holds_waiting_suspended_until', table_name='holds')
    if op.get_bind().dialect.name == 'sqlite':
        # Natively (SQLite >= 3.35; the index is gone first): batch mode would copy and
        # drop `holds`, and with foreign keys on that nulls the outbox's hold_id.
        op.execute('ALTER TABLE holds DROP COLUMN suspended_until')
    else:
        op.drop_column('holds', 'suspended_until')
