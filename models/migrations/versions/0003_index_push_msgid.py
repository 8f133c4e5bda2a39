"""index pushes.msgid (every delivery report looks a push up by it)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 02:15:00
"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('pushes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pushes_msgid'), ['msgid'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pushes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pushes_msgid'))
