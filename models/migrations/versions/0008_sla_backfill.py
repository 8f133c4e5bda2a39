"""stage times of the tickets filed before 0007, read back from their timelines (the SLA clock, the ledger)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:20:00

Migration 0007 added the stage columns empty: a ticket filed before it would never be found late, reminded
or closed unrated.  Each column still empty is filled from the ticket's status events: the first acceptance
(and who made it) and assignment, the latest completion and close (rated when it has a rating, else staff),
the reporter's reworks (没修好), and for an open ticket when its present stage began (and its pause, when on
hold).  Only empty columns are written: running it on filled ones changes nothing.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

tickets = sa.table(
    'tickets', sa.column('id', sa.Integer()), sa.column('status', sa.String()), sa.column('rating', sa.Integer()),
    sa.column('created_at', sa.DateTime(timezone=True)), sa.column('updated_at', sa.DateTime(timezone=True)),
    sa.column('accepted_at', sa.DateTime(timezone=True)), sa.column('accepted_by', sa.String()),
    sa.column('assigned_at', sa.DateTime(timezone=True)), sa.column('completed_at', sa.DateTime(timezone=True)),
    sa.column('closed_at', sa.DateTime(timezone=True)), sa.column('close_reason', sa.String()),
    sa.column('stage_started_at', sa.DateTime(timezone=True)), sa.column('hold_started_at', sa.DateTime(timezone=True)),
    sa.column('reworks', sa.Integer()),
)
events = sa.table(
    'ticket_events', sa.column('id', sa.Integer()), sa.column('ticket_id', sa.Integer()),
    sa.column('kind', sa.String()), sa.column('status', sa.String()), sa.column('at', sa.DateTime(timezone=True)),
    sa.column('by', sa.String()),
)
OPEN = ('submitted', 'accepted', 'assigned', 'in_progress', 'on_hold')


def _when(status: str, first: bool) -> sa.ScalarSelect:
    """The first (or latest) time the ticket moved to `status`."""
    pick = sa.func.min if first else sa.func.max
    return (sa.select(pick(events.c.at)).where(events.c.ticket_id == tickets.c.id, events.c.kind == 'status',
                                               events.c.status == status).scalar_subquery())


def _fill(column: str, value: sa.ColumnElement, *where: sa.ColumnElement[bool]) -> None:
    op.execute(tickets.update().where(tickets.c[column].is_(None), *where).values({column: value}))


def upgrade() -> None:
    first_accept = (sa.select(events.c.by).where(events.c.ticket_id == tickets.c.id, events.c.kind == 'status',
                                                 events.c.status == 'accepted')
                    .order_by(events.c.at, events.c.id).limit(1).scalar_subquery())
    _fill('accepted_by', first_accept)
    _fill('accepted_at', _when('accepted', True))
    _fill('assigned_at', _when('assigned', True))
    _fill('completed_at', _when('completed', False), tickets.c.status.in_(('completed', 'closed')))
    _fill('closed_at', _when('closed', False), tickets.c.status == 'closed')
    _fill('close_reason', sa.case((tickets.c.rating.is_not(None), 'rated'), else_='staff'),
          tickets.c.status == 'closed')
    reworks = (sa.select(sa.func.count(events.c.id)).where(
        events.c.ticket_id == tickets.c.id, events.c.kind == 'status', events.c.status == 'accepted',
        events.c.by.like('user:%')).scalar_subquery())
    op.execute(tickets.update().where(tickets.c.reworks == 0, tickets.c.status.not_in(('submitted', 'cancelled')))
               .values(reworks=reworks))
    began = sa.case(
        (tickets.c.status == 'submitted', tickets.c.created_at),
        (tickets.c.status == 'accepted', _when('accepted', False)),
        else_=sa.func.coalesce(_when('assigned', False), _when('in_progress', True), tickets.c.updated_at))
    _fill('stage_started_at', sa.func.coalesce(began, tickets.c.updated_at), tickets.c.status.in_(OPEN))
    _fill('hold_started_at', _when('on_hold', False), tickets.c.status == 'on_hold')


def downgrade() -> None:
    """Nothing to undo: 0007's downgrade drops the columns."""
