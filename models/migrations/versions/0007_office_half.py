"""the office half: stage times on tickets, overdue stages (责任追究), return visits, follow-ups, canned replies per category

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:55:33.179641
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('followups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_by', sa.String(length=96), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_followups_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followups'))
    )
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followups_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_followups_done_at'), ['done_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_followups_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('return_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('by', sa.String(length=96), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_return_visits_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_visits'))
    )
    with op.batch_alter_table('return_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_visits_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('sla_overdue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['holder_id'], ['staff.id'], name=op.f('fk_sla_overdue_holder_id_staff')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_sla_overdue_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_overdue')),
    sa.UniqueConstraint('ticket_id', 'stage', 'round', name=op.f('uq_sla_overdue_ticket_id'))
    )
    with op.batch_alter_table('sla_overdue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_overdue_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sla_overdue_holder_id'), ['holder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sla_overdue_ticket_id'), ['ticket_id'], unique=False)

    with op.batch_alter_table('canned_replies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=64), nullable=True))

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('accepted_by', sa.String(length=96), nullable=True))
        batch_op.add_column(sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('close_reason', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('stage_started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('held_s', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('hold_started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reworks', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('rating_reminded_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('rating_reminded_at')
        batch_op.drop_column('reworks')
        batch_op.drop_column('hold_started_at')
        batch_op.drop_column('held_s')
        batch_op.drop_column('stage_started_at')
        batch_op.drop_column('close_reason')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('completed_at')
        batch_op.drop_column('assigned_at')
        batch_op.drop_column('accepted_by')
        batch_op.drop_column('accepted_at')

    with op.batch_alter_table('canned_replies', schema=None) as batch_op:
        batch_op.drop_column('category')

    with op.batch_alter_table('sla_overdue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_overdue_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_sla_overdue_holder_id'))
        batch_op.drop_index(batch_op.f('ix_sla_overdue_at'))

    op.drop_table('sla_overdue')
    with op.batch_alter_table('return_visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_return_visits_ticket_id'))

    op.drop_table('return_visits')
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followups_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_followups_done_at'))
        batch_op.drop_index(batch_op.f('ix_followups_category'))

    op.drop_table('followups')
