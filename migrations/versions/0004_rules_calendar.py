"""circulation rules, patron categories, library calendar

Revision ID: 0004
Revises: 0003

The `*`/`*` rule is seeded from today's settings (LOAN_PERIOD_DAYS, MAX_RENEWALS, ...),
so an upgraded library lends exactly as before. Existing members get
DEFAULT_PATRON_CATEGORY.
"""
import os

import sqlalchemy as sa
from alembic import op
from flask import current_app, has_app_context

from api.rules.resolve import SEED_DEFAULTS, SEED_SETTINGS, seed_values

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

RULE_VALUES = list(SEED_SETTINGS)


def _settings() -> dict:
    """The app's settings where it has them, else the environment, else the defaults."""
    config = current_app.config if has_app_context() else {}
    return {key: config.get(key, os.environ.get(key, SEED_DEFAULTS[key]))
            for key in set(SEED_SETTINGS.values())}


def _default_category() -> str:
    config = current_app.config if has_app_context() else {}
    return config.get("DEFAULT_PATRON_CATEGORY") or os.environ.get("DEFAULT_PATRON_CATEGORY") or "adult"


def upgrade():
    rules = op.create_table(
        'circulation_rules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patron_category', sa.String(length=32), nullable=False),
        sa.Column('item_type', sa.String(length=32), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=True) for name in RULE_VALUES],
        sa.CheckConstraint(
            "NOT (patron_category = '*' AND item_type = '*') OR ("
            + " AND ".join(f"{name} IS NOT NULL" for name in RULE_VALUES) + ")",
            name=op.f('ck_circulation_rules_default_rule_complete')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_circulation_rules')),
        sa.UniqueConstraint('patron_category', 'item_type', name='uq_rules_pair'),
    )
    op.bulk_insert(rules, [{"patron_category": "*", "item_type": "*", **seed_values(_settings())}])

    op.create_table(
        'closed_dates',
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('date', name=op.f('pk_closed_dates')),
    )
    op.create_table(
        'closed_weekdays',
        sa.Column('weekday', sa.Integer(), autoincrement=False, nullable=False),
        sa.CheckConstraint('weekday BETWEEN 1 AND 7', name=op.f('ck_closed_weekdays_weekday_iso')),
        sa.PrimaryKeyConstraint('weekday', name=op.f('pk_closed_weekdays')),
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=32), server_default='adult',
                                      nullable=False))
    category = _default_category()
    if category != 'adult':
        op.execute(sa.text("UPDATE users SET category = :category").bindparams(category=category))


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        # Natively (SQLite >= 3.35): batch mode would copy and drop `users`, and with
        # foreign keys on, dropping it deletes every loan and hold through ON DELETE CASCADE.
        op.execute('ALTER TABLE users DROP COLUMN category')
    else:
        op.drop_column('users', 'category')
    op.drop_table('closed_weekdays')
    op.drop_table('closed_dates')
    op.drop_table('circulation_rules')
