"""figures as of a date, supplementary answers (补录), rating history, imports, indexed search

Revision ID: 0008_figures
Revises: 0007_workers
Create Date: 2026-12-06 01:26:03.000739

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_figures'
down_revision = '0007_workers'
branch_labels = None
depends_on = None

# Columns are added and dropped with plain ALTER TABLE, never SQLite's batch rebuild, which
# would drop the statistics triggers of migration 0005 on answers.


def _drop_column(table, column):
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        op.drop_column(table, column)


# The search index (qa_live/transcript/search.py): triggers queue every change to a question's
# text or an answer's body; the app turns the queue into character-pair tokens in order.
SEARCHED = {"questions": ("q", "text"), "answers": ("a", "body")}
INDEX = {"search_question_grams": "question_id integer PRIMARY KEY REFERENCES questions(id) "
                                  "ON DELETE CASCADE",
         "search_answer_grams": "answer_id integer PRIMARY KEY REFERENCES answers(id) "
                                "ON DELETE CASCADE, question_id integer NOT NULL"}


def _search_upgrade():
    op.create_table('search_queue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=1), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('old_text', sa.Text(), nullable=True),
    sa.Column('new_text', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_queue'))
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, columns in INDEX.items():
        if postgres:
            op.execute(f"CREATE TABLE {name} ({columns}, grams tsvector NOT NULL)")
            op.execute(f"CREATE INDEX ix_{name} ON {name} USING gin (grams)")
        else:
            # prefix='4': a one-character search is one prefix-index lookup (4 letters).
            op.execute(f"CREATE VIRTUAL TABLE {name} USING fts5(grams, content='', "
                       "tokenize='ascii', columnsize=0, prefix='4')")
    for table, (kind, column) in SEARCHED.items():
        insert = "INSERT INTO search_queue (kind, item_id, old_text, new_text) VALUES"
        if postgres:
            op.execute(f"""
CREATE FUNCTION search_{table}_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {insert} ('{kind}', NEW.id, NULL, NEW.{column});
    ELSIF TG_OP = 'DELETE' THEN
        {insert} ('{kind}', OLD.id, OLD.{column}, NULL);
    ELSIF OLD.{column} IS DISTINCT FROM NEW.{column} THEN
        {insert} ('{kind}', NEW.id, OLD.{column}, NEW.{column});
    END IF;
    RETURN NULL;
END $$""")
            op.execute(f"CREATE TRIGGER search_{table}_changed AFTER INSERT OR DELETE OR UPDATE "
                       f"OF {column} ON {table} FOR EACH ROW "
                       f"EXECUTE FUNCTION search_{table}_changed()")
        else:
            op.execute(f"CREATE TRIGGER search_{table}_insert AFTER INSERT ON {table} BEGIN "
                       f"{insert} ('{kind}', NEW.id, NULL, NEW.{column}); END")
            op.execute(f"CREATE TRIGGER search_{table}_update AFTER UPDATE OF {column} ON {table} "
                       f"WHEN OLD.{column} IS NOT NEW.{column} BEGIN "
                       f"{insert} ('{kind}', NEW.id, OLD.{column}, NEW.{column}); END")
            op.execute(f"CREATE TRIGGER search_{table}_delete AFTER DELETE ON {table} BEGIN "
                       f"{insert} ('{kind}', OLD.id, OLD.{column}, NULL); END")
        # What is there already is indexed by the first search (or flask search reindex).
        op.execute(f"INSERT INTO search_queue (kind, item_id, new_text) "
                   f"SELECT '{kind}', id, {column} FROM {table} ORDER BY id")


def _search_downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in SEARCHED:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS search_{table}_changed ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS search_{table}_changed()")
        else:
            for name in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS search_{table}_{name}")
    for name in INDEX:
        op.execute(f"DROP TABLE IF EXISTS {name}")
    op.drop_table('search_queue')


def upgrade():
    op.create_table('rating_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rating_id', sa.Integer(), nullable=False),
    sa.Column('old_value', sa.Enum('SATISFIED', 'BASIC', 'UNSATISFIED', name='ratingvalue', native_enum=False, length=12), nullable=False),
    sa.Column('new_value', sa.Enum('SATISFIED', 'BASIC', 'UNSATISFIED', name='ratingvalue', native_enum=False, length=12), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['rating_id'], ['ratings.id'], name=op.f('fk_rating_changes_rating_id_ratings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating_changes'))
    )
    op.create_index('ix_rating_changes_rating_at', 'rating_changes', ['rating_id', 'at'], unique=False)
    op.add_column('answers', sa.Column('given_at', sa.DateTime(), nullable=True))
    op.add_column('stats_sessions', sa.Column('settled_at', sa.DateTime(), nullable=True))
    op.add_column('live_sessions', sa.Column('participants_given', sa.Boolean(), server_default='0', nullable=False))
    op.create_table('session_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.Column('questions', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_session_imports_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_imports')),
    sa.UniqueConstraint('sha256', name=op.f('uq_session_imports_sha256'))
    )
    op.create_table('imported_sessions',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['session_imports.id'], name=op.f('fk_imported_sessions_import_id_session_imports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], name=op.f('fk_imported_sessions_session_id_live_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_imported_sessions')),
    sa.UniqueConstraint('external_id', name=op.f('uq_imported_sessions_external_id'))
    )
    op.create_index(op.f('ix_imported_sessions_import_id'), 'imported_sessions', ['import_id'], unique=False)
    _search_upgrade()
    # Stored figures are a cache: thrown away so every session is counted again with the time
    # its rows settled (needed for figures as of a date).
    for table in ("stats_waits", "stats_groups", "stats_sessions", "stats_periods"):
        op.execute(f"DELETE FROM {table}")


def downgrade():
    _search_downgrade()
    op.drop_index(op.f('ix_imported_sessions_import_id'), table_name='imported_sessions')
    op.drop_table('imported_sessions')
    op.drop_table('session_imports')
    _drop_column('live_sessions', 'participants_given')
    _drop_column('stats_sessions', 'settled_at')
    _drop_column('answers', 'given_at')
    op.drop_index('ix_rating_changes_rating_at', table_name='rating_changes')
    op.drop_table('rating_changes')
