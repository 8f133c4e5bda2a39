"""the ledger's pages: keyset indexes on (created_at, id) for tickets and complaints

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:15:00

The ledger lists newest first and pages by keyset, ``(created_at, id) < (:at, :id)`` ordered by
``created_at DESC, id DESC`` (models/ledger.py).  With both columns in one index PostgreSQL reads a page as
one backward index range scan, at any depth (plan: Limit -> Nested Loop Left Join -> Index Scan Backward
using ix_tickets_created_at_id, Index Cond on the row comparison); with created_at alone it filtered every
newer row on the way down.  The same index serves the date filters of the export and of the statistics.
"""
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_created_at_id', ['created_at', 'id'], unique=False)
    with op.batch_alter_table('consults', schema=None) as batch_op:
        batch_op.create_index('ix_consults_created_at_id', ['created_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('consults', schema=None) as batch_op:
        batch_op.drop_index('ix_consults_created_at_id')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_created_at_id')
