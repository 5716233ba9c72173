"""items: one row per physical copy; loans and ready holds point at theirs

Revision ID: 0003
Revises: 0006

Upgrades in place: every book gets copies_total items with barcodes "<book id>-<n>"
(n = 1..copies_total, the scheme api.circulation.items.generated_barcodes continues),
each open loan takes one of them (on_loan), each ready hold the next (on_hold_shelf),
the rest are available; then the book's counts are recounted from the items. All
set-based SQL, valid on PostgreSQL and SQLite.
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa
import api.models.types

revision = '0003'
down_revision = '0006'
branch_labels = None
depends_on = None

# Numbers 1..max(copies_total), joined to each book.
_CREATE_ITEMS = """
INSERT INTO items (book_id, barcode, item_type, status, created_at, updated_at)
WITH RECURSIVE n(k) AS (
    SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < (SELECT max(copies_total) FROM books)
)
SELECT b.id, CAST(b.id AS VARCHAR(16)) || '-' || CAST(n.k AS VARCHAR(16)), 'book', 'available', :now, :now
FROM books b JOIN n ON n.k <= b.copies_total
"""
# The k-th open loan of a book (by id) takes item "<book>-<k>".
_LOAN_ITEMS = """
UPDATE loans SET item_id = (
    SELECT i.id FROM items i WHERE i.barcode = CAST(loans.book_id AS VARCHAR(16)) || '-' || CAST((
        SELECT count(*) FROM loans l WHERE l.book_id = loans.book_id AND l.returned_at IS NULL
                                           AND l.id <= loans.id) AS VARCHAR(16)))
WHERE returned_at IS NULL
"""
# The k-th ready hold takes the k-th item after those of the open loans.
_HOLD_ITEMS = """
UPDATE holds SET item_id = (
    SELECT i.id FROM items i WHERE i.barcode = CAST(holds.book_id AS VARCHAR(16)) || '-' || CAST((
        (SELECT count(*) FROM loans l WHERE l.book_id = holds.book_id AND l.returned_at IS NULL)
        + (SELECT count(*) FROM holds h WHERE h.book_id = holds.book_id AND h.status = 'ready'
                                           AND h.id <= holds.id)) AS VARCHAR(16)))
WHERE status = 'ready'
"""
_STATUSES = [
    "UPDATE items SET status = 'on_loan' WHERE id IN "
    "(SELECT item_id FROM loans WHERE returned_at IS NULL AND item_id IS NOT NULL)",
    "UPDATE items SET status = 'on_hold_shelf' WHERE id IN "
    "(SELECT item_id FROM holds WHERE status = 'ready' AND item_id IS NOT NULL)",
]
_RECOUNT = """
UPDATE books SET
    copies_total = (SELECT count(*) FROM items i WHERE i.book_id = books.id
                                                 AND i.status NOT IN ('lost', 'withdrawn')),
    copies_available = (SELECT count(*) FROM items i WHERE i.book_id = books.id AND i.status = 'available')
"""


def _foreign_keys_off_on_sqlite():
    """On SQLite a batch operation copies the table and drops the old one, and with
    foreign keys on, that DROP deletes every row first: ON DELETE SET NULL / CASCADE
    fire in the tables referring to loans and holds (the outbox's loan_id/hold_id
    would be nulled). This step has written nothing yet, so the pragma still takes
    effect (it is ignored inside a transaction). The migrating connection keeps it
    off; `flask db upgrade` exits right after."""
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('PRAGMA foreign_keys=OFF')


def _fill():
    now = sa.bindparam("now", datetime.now(UTC), type_=api.models.types.UTCDateTime())
    op.execute(sa.text(_CREATE_ITEMS).bindparams(now))
    for sql in (_LOAN_ITEMS, _HOLD_ITEMS, *_STATUSES, _RECOUNT):
        op.execute(sa.text(sql))


def upgrade():
    _foreign_keys_off_on_sqlite()
    op.create_table('items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('book_id', sa.Integer(), nullable=False),
    sa.Column('barcode', sa.String(length=32), nullable=False),
    sa.Column('item_type', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', api.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', api.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['book_id'], ['books.id'], name=op.f('fk_items_book_id_books'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items')),
    sa.UniqueConstraint('barcode', name=op.f('uq_items_barcode'))
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index('ix_items_book_status', ['book_id', 'status'], unique=False)

    for table, where in (('holds', "status = 'ready'"), ('loans', 'returned_at IS NULL')):
        index = 'uq_holds_ready_item' if table == 'holds' else 'uq_loans_open_item'
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('item_id', sa.Integer(), nullable=True))
            batch_op.create_index(index, ['item_id'], unique=True,
                                  postgresql_where=sa.text(where), sqlite_where=sa.text(where))
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_item_id_items'), 'items', ['item_id'], ['id'],
                                        ondelete='SET NULL')

    _fill()


def downgrade():
    _foreign_keys_off_on_sqlite()
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_loans_item_id_items'), type_='foreignkey')
        batch_op.drop_index('uq_loans_open_item', postgresql_where=sa.text('returned_at IS NULL'), sqlite_where=sa.text('returned_at IS NULL'))
        batch_op.drop_column('item_id')

    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_holds_item_id_items'), type_='foreignkey')
        batch_op.drop_index('uq_holds_ready_item', postgresql_where=sa.text("status = 'ready'"), sqlite_where=sa.text("status = 'ready'"))
        batch_op.drop_column('item_id')

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_book_status')

    op.drop_table('items')
