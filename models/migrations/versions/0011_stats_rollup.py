"""the statistics' roll-up (stats_rollup) and an index on a ticket's place and fault group

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 22:15:00

models/rollup.py adds each ticket's share of the figures to ``stats_rollup`` per day and per month, so that
a year's statistics add up a few thousand rows instead of a third of a million tickets.  The key starts
with the grain and the dimension, so that each read of the statistics (one dimension or a few, over a range
of periods) reads only its own rows.  The table starts
empty: models/schema.py's upgrade fills it from the tickets when it is empty and tickets exist (as
``repairbot stats rebuild`` does).  Filing a ticket asks whether one of the same fault group was filed at
the same building and floor in the last 30 days (a hot-spot repeat): the index answers that.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'stats_rollup',
        sa.Column('grain', sa.String(length=1), nullable=False),
        sa.Column('dim', sa.String(length=16), nullable=False),
        sa.Column('period', sa.String(length=10), nullable=False),
        sa.Column('category', sa.String(length=64), nullable=False),
        sa.Column('k1', sa.String(length=64), nullable=False),
        sa.Column('k2', sa.String(length=64), nullable=False),
        sa.Column('k3', sa.String(length=64), nullable=False),
        sa.Column('k4', sa.String(length=64), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('grain', 'dim', 'period', 'category', 'k1', 'k2', 'k3', 'k4',
                                name=op.f('pk_stats_rollup')),
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_place_group', ['campus', 'building', 'floor', 'group', 'created_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_place_group')
    op.drop_table('stats_rollup')
