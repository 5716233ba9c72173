"""fines and accounts: account_lines (the ledger) and blocks

Revision ID: 0005
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import api.models.types


revision = '0005'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('account_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_at', api.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.CheckConstraint("(kind = 'overdue' AND amount >= 0) OR (kind = 'manual' AND amount > 0)"
                       " OR (kind IN ('payment', 'waiver') AND amount < 0)",
                       name='ck_account_lines_kind_sign'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('account_lines', schema=None) as batch_op:
        batch_op.create_index('ix_account_lines_user', ['user_id', 'id'], unique=False)
        batch_op.create_index('uq_account_lines_overdue_loan', ['loan_id'], unique=True,
                              postgresql_where=sa.text("kind = 'overdue'"),
                              sqlite_where=sa.text("kind = 'overdue'"))

    op.create_table('blocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('expires_at', api.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', api.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.create_index('ix_blocks_user', ['user_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.drop_index('ix_blocks_user')
    op.drop_table('blocks')
    with op.batch_alter_table('account_lines', schema=None) as batch_op:
        batch_op.drop_index('uq_account_lines_overdue_loan',
                            postgresql_where=sa.text("kind = 'overdue'"),
                            sqlite_where=sa.text("kind = 'overdue'"))
        batch_op.drop_index('ix_account_lines_user')
    op.drop_table('account_lines')
