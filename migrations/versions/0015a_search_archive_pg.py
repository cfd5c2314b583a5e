"""search archive on PostgreSQL: single characters as their own tokens, a small GIN pending list
(qa_live/transcript/archive_index.py, docs/transcript.md)

Revision ID: 0015a_search_archive_pg
Revises: 0014b_stats_as_of
Create Date: 2026-12-06 11:30:00.000000

PostgreSQL only (SQLite's FTS5 is unchanged):

- the archive's documents also hold each character of their texts once, as a token without a
  position (archive_singles()), so a one-character search reads one posting list instead of the
  union of every pair starting with the character. Every session is queued, so the first search
  (or `flask search catch-up`) rebuilds the documents;
- the GIN index's pending list (fastupdate) is held to 64 kB: every search reads the whole list,
  which grew to 4 MB (about 500 pages, 10-25 ms per search) after a catch-up until autovacuum
  merged it. A smaller list is merged more often by the inserts themselves (in a trial, 0.16 ms
  more per document inserted in bulk; fastupdate off cost 1.5 ms more per document).
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015a_search_archive_pg'
down_revision = '0014b_stats_as_of'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER INDEX ix_search_archive_grams SET (gin_pending_list_limit = 64)")
    op.execute("INSERT INTO search_queue (kind, item_id) SELECT 's', id FROM live_sessions "
               "ORDER BY id")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    # The documents keep their single-character tokens: the prefix query of 0014a finds the
    # same documents with or without them.
    op.execute("ALTER INDEX ix_search_archive_grams RESET (gin_pending_list_limit)")
