"""search archive: one index document per published question of a held session, keyed by the
archive's order, with the year and departments as tags (qa_live/transcript/search.py)

Revision ID: 0014a_search_archive
Revises: 0013_citizen_sign_in
Create Date: 2026-12-06 08:05:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014a_search_archive'
down_revision = '0013_citizen_sign_in'
branch_labels = None
depends_on = None

QUEUE = "INSERT INTO search_queue (kind, item_id, old_text, new_text) VALUES"

# What moves a question into or out of the archive, or changes its document, queued for
# catch_up(): "p" names a question, "s" a session. (A question's own text, insertion and deletion
# are queued as "q" by migration 0008's triggers, which the archive reads too.)
POSTGRES_TRIGGERS = {
    "questions": ("UPDATE OF status, session_id",
                  f"""IF OLD.status IS DISTINCT FROM NEW.status
       OR OLD.session_id IS DISTINCT FROM NEW.session_id THEN
        {QUEUE} ('p', NEW.id, NULL, NULL);
    END IF;"""),
    "answers": ("INSERT OR DELETE OR UPDATE OF body, question_id",
                f"""IF TG_OP = 'INSERT' THEN
        {QUEUE} ('p', NEW.question_id, NULL, NULL);
    ELSIF TG_OP = 'DELETE' THEN
        {QUEUE} ('p', OLD.question_id, NULL, NULL);
    ELSIF OLD.body IS DISTINCT FROM NEW.body
       OR OLD.question_id IS DISTINCT FROM NEW.question_id THEN
        {QUEUE} ('p', NEW.question_id, NULL, NULL);
        IF OLD.question_id IS DISTINCT FROM NEW.question_id THEN
            {QUEUE} ('p', OLD.question_id, NULL, NULL);
        END IF;
    END IF;"""),
    "live_sessions": ("UPDATE OF state, scheduled_start, plan_year",
                      f"""IF OLD.state IS DISTINCT FROM NEW.state
       OR OLD.scheduled_start IS DISTINCT FROM NEW.scheduled_start
       OR OLD.plan_year IS DISTINCT FROM NEW.plan_year THEN
        {QUEUE} ('s', NEW.id, NULL, NULL);
    END IF;"""),
    "session_departments": ("INSERT OR DELETE",
                            f"""IF TG_OP = 'DELETE' THEN
        {QUEUE} ('s', OLD.session_id, NULL, NULL);
    ELSE
        {QUEUE} ('s', NEW.session_id, NULL, NULL);
    END IF;"""),
}

SQLITE_TRIGGERS = {
    "search_archive_question": (
        "AFTER UPDATE OF status, session_id ON questions "
        "WHEN OLD.status IS NOT NEW.status OR OLD.session_id IS NOT NEW.session_id",
        f"{QUEUE} ('p', NEW.id, NULL, NULL);"),
    "search_archive_answer_insert": (
        "AFTER INSERT ON answers", f"{QUEUE} ('p', NEW.question_id, NULL, NULL);"),
    "search_archive_answer_delete": (
        "AFTER DELETE ON answers", f"{QUEUE} ('p', OLD.question_id, NULL, NULL);"),
    "search_archive_answer_update": (
        "AFTER UPDATE OF body, question_id ON answers "
        "WHEN OLD.body IS NOT NEW.body OR OLD.question_id IS NOT NEW.question_id",
        f"{QUEUE} ('p', NEW.question_id, NULL, NULL); "
        f"{QUEUE} ('p', OLD.question_id, NULL, NULL);"),
    "search_archive_session": (
        "AFTER UPDATE OF state, scheduled_start, plan_year ON live_sessions "
        "WHEN OLD.state IS NOT NEW.state OR OLD.scheduled_start IS NOT NEW.scheduled_start "
        "OR OLD.plan_year IS NOT NEW.plan_year",
        f"{QUEUE} ('s', NEW.id, NULL, NULL);"),
    "search_archive_department_insert": (
        "AFTER INSERT ON session_departments", f"{QUEUE} ('s', NEW.session_id, NULL, NULL);"),
    "search_archive_department_delete": (
        "AFTER DELETE ON session_departments", f"{QUEUE} ('s', OLD.session_id, NULL, NULL);"),
}


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TABLE search_archive_grams ("
                   "question_id integer PRIMARY KEY REFERENCES questions(id) ON DELETE CASCADE, "
                   "doc_key bigint NOT NULL, session_id integer NOT NULL, "
                   "grams tsvector NOT NULL)")
        op.execute("CREATE INDEX ix_search_archive_grams ON search_archive_grams USING gin (grams)")
        op.execute("CREATE UNIQUE INDEX ix_search_archive_grams_key "
                   "ON search_archive_grams (doc_key)")
        op.execute("CREATE INDEX ix_search_archive_grams_session "
                   "ON search_archive_grams (session_id)")
        for table, (events, body) in POSTGRES_TRIGGERS.items():
            op.execute(f"""
CREATE FUNCTION search_archive_{table}_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {body}
    RETURN NULL;
END $$""")
            op.execute(f"CREATE TRIGGER search_archive_{table}_changed AFTER {events} "
                       f"ON {table} FOR EACH ROW "
                       f"EXECUTE FUNCTION search_archive_{table}_changed()")
    else:
        # The rowid is the document's key; prefix='4' as in 0008 (one-character searches).
        op.execute("CREATE VIRTUAL TABLE search_archive_grams USING fts5(grams, content='', "
                   "tokenize='ascii', columnsize=0, prefix='4')")
        op.execute("CREATE TABLE search_archive_entries ("
                   "question_id INTEGER PRIMARY KEY, doc_key INTEGER NOT NULL UNIQUE, "
                   "session_id INTEGER NOT NULL, source TEXT NOT NULL)")
        op.execute("CREATE INDEX ix_search_archive_entries_session "
                   "ON search_archive_entries (session_id)")
        for name, (when, body) in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")
    # The archive as it is now: its documents are made by the first search (or flask search
    # reindex / catch-up).
    op.execute("INSERT INTO search_queue (kind, item_id) SELECT 's', id FROM live_sessions "
               "ORDER BY id")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in POSTGRES_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS search_archive_{table}_changed ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS search_archive_{table}_changed()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_archive_entries")
    op.execute("DELETE FROM search_queue WHERE kind IN ('p', 's')")
    op.execute("DROP TABLE IF EXISTS search_archive_grams")
