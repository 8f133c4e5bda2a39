"""indexes for a million tickets: a user's list, the duplicate check, a worker's tickets, the console's search

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 21:20:00

The plans these were chosen from (EXPLAIN ANALYZE on 1,000,000 seeded tickets, PostgreSQL 15) are in
tests/benchmarks/README.md, "Data at scale".  Before them, 我的报修 of a bound user walked created_at
backwards through three quarters of the table (470 ms), and a console search read all of it (1.7-2.8 s).

- ix_tickets_openid_created_at: 我的报修 reads a user's newest tickets straight off the index.
- ix_tickets_open_place: the duplicate check looks only at open tickets (a partial index: a few thousand
  rows however many are closed), by building and group, newest first.
- ix_tickets_worker_id: a worker's list and the console's worker filter.
- PostgreSQL only: pg_trgm (and btree_gin, to put the category first in the index: a dispatcher's search
  reads only their categories), and a trigram index over the text the console's search reads
  (ticket_search_text: number, phone, description, place, fault, category), so that a search of three
  characters or more finds its rows from the index instead of reading every ticket; a second one over the
  same text with every character doubled does the same for two characters (漏水).  SQLite searches with
  LIKE, as before.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

OPEN = "status IN ('submitted', 'accepted', 'assigned', 'in_progress', 'on_hold')"

# The searched text in one lower-cased string (fields joined by a line break, which no search can hold):
# the index and the query must spell the same expression, so it is a function.  Keep it in step with
# bot.console.queue.search_text.
SEARCH_TEXT = """
CREATE OR REPLACE FUNCTION ticket_search_text(no text, phone text, description text, building text, room text,
                                              place_note text, grp text, item text, category text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT lower(coalesce(no, '') || E'\\n' || coalesce(phone, '') || E'\\n' || coalesce(description, '') || E'\\n'
               || coalesce(building, '') || E'\\n' || coalesce(room, '') || E'\\n' || coalesce(place_note, '')
               || E'\\n' || coalesce(grp, '') || E'\\n' || coalesce(item, '') || E'\\n' || coalesce(category, ''))
$$
"""
SEARCHED = 'ticket_search_text(no, phone, description, building, room, place_note, "group", item, category)'
# The category first (btree_gin): a dispatcher's search reads only their categories' rows from the index.
SEARCH_INDEX = f"CREATE INDEX ix_tickets_search ON tickets USING gin (category, {SEARCHED} gin_trgm_ops)"
# Two characters (漏水, 门锁: most Chinese words) have no trigram; with every character doubled (漏漏水水) they have
# two, so the same kind of index finds them.  Keep the expression in step with bot.console.queue.search.
PAIRS_INDEX = (f"CREATE INDEX ix_tickets_search_pairs ON tickets USING gin "
               f"(category, regexp_replace({SEARCHED}, '(.)', '\\1\\1', 'g') gin_trgm_ops)")


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_openid_created_at', ['openid', 'created_at'], unique=False)
        batch_op.create_index('ix_tickets_open_place', ['building', 'group', 'created_at'], unique=False,
                              postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
        batch_op.create_index('ix_tickets_worker_id', ['worker_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        op.execute(SEARCH_TEXT)
        op.execute(SEARCH_INDEX)
        op.execute(PAIRS_INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_tickets_search_pairs")
        op.execute("DROP INDEX IF EXISTS ix_tickets_search")
        op.execute("DROP FUNCTION IF EXISTS ticket_search_text(text, text, text, text, text, text, text, text, text)")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_worker_id')
        batch_op.drop_index('ix_tickets_open_place')
        batch_op.drop_index('ix_tickets_openid_created_at')
