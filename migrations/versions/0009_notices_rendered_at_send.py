"""notices rendered at send time: notifications.subject and body nullable

Revision ID: 0009
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('subject', existing_type=sa.String(length=300), nullable=True)
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=True)


def downgrade():
    # Rows not yet rendered get an empty text rather than blocking the downgrade.
    op.execute("UPDATE notifications SET subject = '' WHERE subject IS NULL")
    op.execute("UPDATE notifications SET body = '' WHERE body IS NULL")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('subject', existing_type=sa.String(length=300), nullable=False)
