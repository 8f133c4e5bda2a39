"""a message's source (a replay adds nothing), staff session versions, stored text without bidi controls

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# models/text.py's BIDI_CONTROLS, as of this revision.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
# The columns whose values lose them from now on (models/text.py's CleanString and CleanText).
CLEANED = {
    'people': ['name'],
    'staff': ['name'],
    'tickets': ['floor', 'room', 'place_note', 'description', 'rating_comment'],
    'ticket_events': ['note'],
    'consults': ['title', 'description', 'suggestion'],
    'consult_events': ['note'],
    'notices': ['title', 'body'],
    'canned_replies': ['text'],
}


def upgrade() -> None:
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_key', sa.String(length=96), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_ticket_events_source_key'), ['source_key'])
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
    for table, columns in CLEANED.items():
        for column in columns:
            _strip_bidi(table, column)


def _strip_bidi(table: str, column: str) -> None:
    col = sa.column(column, sa.Text())
    cleaned: sa.ColumnElement[str] = col
    for ch in BIDI_CONTROLS:
        cleaned = sa.func.replace(cleaned, ch, '')
    has_any = sa.or_(*(col.contains(ch, autoescape=False) for ch in BIDI_CONTROLS))
    op.execute(sa.table(table, col).update().where(has_any).values({column: cleaned}))


def downgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('session_version')
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_ticket_events_source_key'), type_='unique')
        batch_op.drop_column('source_key')
