"""an index on a ticket's card (person_id, created_at): 我的报修 lists the card's tickets (they follow the card)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 23:05:00

A bound user's list is the card's tickets plus those the WeChat filed with no card; each part is read newest
first off its own index (this one, and ix_tickets_openid_created_at) and merged.  Without it, the condition on
person_id made PostgreSQL walk every ticket's date backwards until it had found nine (7.5 ms for a user with
200 tickets at a million; far longer for a user whose few tickets are old).
"""
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_person_created_at', ['person_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_person_created_at')
