"""job control: run params, cancel flag, retries; messages; files in chunks

Revision ID: 0007
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import api.models.types


revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('task_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('cancel_requested_at', api.models.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('retry_of', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key('fk_task_runs_retry_of_task_runs', 'task_runs', ['retry_of'], ['id'],
                                    ondelete='SET NULL')
    op.create_table('task_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['task_runs.id'], name=op.f('fk_task_messages_run_id_task_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_messages'))
    )
    with op.batch_alter_table('task_messages', schema=None) as batch_op:
        batch_op.create_index('ix_task_messages_run_level', ['run_id', 'level', 'id'], unique=False)
    op.create_table('task_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('created_at', api.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['task_runs.id'], name=op.f('fk_task_files_run_id_task_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_files')),
    sa.UniqueConstraint('run_id', 'kind', name='uq_task_files_run_kind')
    )
    with op.batch_alter_table('task_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_files_created_at'), ['created_at'], unique=False)
    op.create_table('task_file_chunks',
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['task_files.id'], name=op.f('fk_task_file_chunks_file_id_task_files'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('file_id', 'seq', name=op.f('pk_task_file_chunks'))
    )


def downgrade():
    op.drop_table('task_file_chunks')
    with op.batch_alter_table('task_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_files_created_at'))
    op.drop_table('task_files')
    with op.batch_alter_table('task_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_task_messages_run_level')
    op.drop_table('task_messages')
    with op.batch_alter_table('task_runs', schema=None) as batch_op:
        batch_op.drop_constraint('fk_task_runs_retry_of_task_runs', type_='foreignkey')
        batch_op.drop_column('retry_of')
        batch_op.drop_column('cancel_requested_at')
        batch_op.drop_column('params')
