"""search archive on PostgreSQL: single characters as their own tokens
(qa_live/transcript/archive_index.py, docs/transcript.md)

Revision ID: 0015a_search_archive_pg
Revises: 0014b_stats_as_of
Create Date: 2026-12-06 11:30:00.000000

PostgreSQL only (SQLite's FTS5 is unchanged):

- the archive's documents also hold each character of their texts once, as a token without a
  position (archive_singles()), so a one-character search reads one posting list instead of the
  union of every pair starting with the character. Every session is queued, so the first search
  (or `flask search catch-up`) rebuilds the documents;
- (catch_up() now merges the GIN index's pending list after applying changes, which every search
  reads in full: 4 MB, about 500 pages, after a catch-up until autovacuum merged it. Holding the
  list to 64 kB with gin_pending_list_limit instead was tried: the 1M catch-up ran at ~580
  changes/s, against ~940/s before this revision, not separated from the larger documents.)
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
    op.execute("INSERT INTO search_queue (kind, item_id) SELECT 's', id FROM live_sessions "
               "ORDER BY id")


def downgrade():
    # The documents keep their single-character tokens: the prefix query of 0014a finds the
    # same documents with or without them.
    pass
