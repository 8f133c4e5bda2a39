"""a photo sent after filing belongs to a reporter's message (up to 3 each), once per WeChat message

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ticket_photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('source_key', sa.String(length=96), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_ticket_photos_event_id_ticket_events'), 'ticket_events',
                                    ['event_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_ticket_photos_event_id'), ['event_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_ticket_photos_source_key'), ['source_key'])


def downgrade() -> None:
    with op.batch_alter_table('ticket_photos', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_ticket_photos_source_key'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_ticket_photos_event_id'))
        batch_op.drop_constraint(batch_op.f('fk_ticket_photos_event_id_ticket_events'), type_='foreignkey')
        batch_op.drop_column('source_key')
        batch_op.drop_column('event_id')
