"""console, pushes, consults, notices

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 22:17:21.120486
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('canned_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_replies'))
    )
    with op.batch_alter_table('canned_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_canned_replies_status'), ['status'], unique=False)

    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('campus', sa.String(length=64), nullable=True),
    sa.Column('buildings', sa.JSON(), nullable=False),
    sa.Column('groups', sa.JSON(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pushed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_ends_at'), ['ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notices_starts_at'), ['starts_at'], unique=False)

    op.create_table('consults',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('no', sa.String(length=20), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('department', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('suggestion', sa.Text(), nullable=True),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source_key', sa.String(length=96), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_consults_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consults')),
    sa.UniqueConstraint('no', name=op.f('uq_consults_no')),
    sa.UniqueConstraint('source_key', name=op.f('uq_consults_source_key'))
    )
    with op.batch_alter_table('consults', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consults_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_consults_department'), ['department'], unique=False)
        batch_op.create_index(batch_op.f('ix_consults_openid'), ['openid'], unique=False)
        batch_op.create_index(batch_op.f('ix_consults_status'), ['status'], unique=False)

    op.create_table('consult_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consult_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('by', sa.String(length=96), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consult_id'], ['consults.id'], name=op.f('fk_consult_events_consult_id_consults')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_events'))
    )
    with op.batch_alter_table('consult_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_events_consult_id'), ['consult_id'], unique=False)

    with op.batch_alter_table('pushes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consult_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('notice_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('channel', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('delivery', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_pushes_consult_id'), ['consult_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pushes_notice_id'), ['notice_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_pushes_consult_id_consults'), 'consults', ['consult_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_pushes_notice_id_notices'), 'notices', ['notice_id'], ['id'])

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('departments', sa.JSON(), nullable=False, server_default='[]'))

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rating', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rating_comment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('merged_into', sa.String(length=20), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('merged_into')
        batch_op.drop_column('rated_at')
        batch_op.drop_column('rating_comment')
        batch_op.drop_column('rating')

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('departments')

    with op.batch_alter_table('pushes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_pushes_notice_id_notices'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_pushes_consult_id_consults'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_pushes_notice_id'))
        batch_op.drop_index(batch_op.f('ix_pushes_consult_id'))
        batch_op.drop_column('delivery')
        batch_op.drop_column('channel')
        batch_op.drop_column('notice_id')
        batch_op.drop_column('consult_id')

    with op.batch_alter_table('consult_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_events_consult_id'))

    op.drop_table('consult_events')
    with op.batch_alter_table('consults', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consults_status'))
        batch_op.drop_index(batch_op.f('ix_consults_openid'))
        batch_op.drop_index(batch_op.f('ix_consults_department'))
        batch_op.drop_index(batch_op.f('ix_consults_created_at'))

    op.drop_table('consults')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notices_starts_at'))
        batch_op.drop_index(batch_op.f('ix_notices_ends_at'))

    op.drop_table('notices')
    with op.batch_alter_table('canned_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_canned_replies_status'))

    op.drop_table('canned_replies')

