"""stored per-session statistics, kept fresh by triggers

Revision ID: 0005_stats_cache
Revises: 0004_after_session
Create Date: 2026-11-29 16:30:49.043118

"""
from alembic import op
import sqlalchemy as sa

# Which changes make a session's stored figures stale (qa_live/stats/models.py). A session that
# is live is skipped: its figures are never stored, and asks and joins must not queue on its row.
# Note for later migrations: SQLite's "batch" table rebuild drops a table's triggers; recreate
# these after rebuilding questions, answers, ratings, visits or live_sessions.
WATCHED = {
    # table: (how to find the session of NEW / OLD, columns whose update matters)
    "questions": ("{row}.session_id", "session_id, status, source, reject_reason, merged_into_id, "
                  "department_id, created_at, answered_at"),
    "visits": ("{row}.session_id", "session_id, visitor_id"),
    "answers": ("(SELECT session_id FROM questions WHERE id = {row}.question_id)",
                "question_id, kind, created_at"),
    "ratings": ("(SELECT session_id FROM questions WHERE id = {row}.question_id)",
                "question_id, answer_id, value"),
}
# A change to visits also moves visits_version, which alone keys the stored distinct-visitor
# counts of periods (stats_periods): a rating or a second reply does not recount those.
BUMP = ("UPDATE live_sessions SET stats_version = stats_version + 1{visits} "
        "WHERE id IN ({sessions}) AND state <> 'LIVE'")
VISITS = ", visits_version = visits_version + 1"
SESSION_COLUMNS = "state, started_at, ended_at"


def _sqlite_triggers():
    for table, (session_of, columns) in WATCHED.items():
        new, old = session_of.format(row="NEW"), session_of.format(row="OLD")
        for name, when, sessions in (("insert", "INSERT", new), ("delete", "DELETE", old),
                                     ("update", f"UPDATE OF {columns}", f"{new}, {old}")):
            bump = BUMP.format(sessions=sessions, visits=VISITS if table == "visits" else "")
            op.execute(f"CREATE TRIGGER stats_{table}_{name} AFTER {when} ON {table} "
                       f"BEGIN {bump}; END")
    op.execute(f"CREATE TRIGGER stats_live_sessions_update AFTER UPDATE OF {SESSION_COLUMNS} "
               "ON live_sessions WHEN OLD.state IS NOT NEW.state "
               "OR OLD.started_at IS NOT NEW.started_at OR OLD.ended_at IS NOT NEW.ended_at "
               "BEGIN UPDATE live_sessions SET stats_version = stats_version + 1, "
               "visits_version = visits_version + 1 WHERE id = NEW.id; END")


def _postgresql_triggers():
    # A session is bumped at most once per transaction (a transaction-local setting remembers
    # it): bumping the same row again and again in one transaction, as a bulk insert of
    # 20,000 questions would, leaves a dead row version per bump for each next one to step over.
    op.execute("""
CREATE FUNCTION stats_bump(session_ids integer[], visits boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    sid integer;
BEGIN
    FOREACH sid IN ARRAY session_ids LOOP
        CONTINUE WHEN sid IS NULL;
        IF visits THEN
            CONTINUE WHEN current_setting('qa_live.visits_bumped_' || sid, true) = '1';
            UPDATE live_sessions SET stats_version = stats_version + 1,
                                     visits_version = visits_version + 1
                WHERE id = sid AND state <> 'LIVE';
            IF FOUND THEN
                PERFORM set_config('qa_live.visits_bumped_' || sid, '1', true);
                PERFORM set_config('qa_live.stats_bumped_' || sid, '1', true);
            END IF;
        ELSE
            CONTINUE WHEN current_setting('qa_live.stats_bumped_' || sid, true) = '1';
            UPDATE live_sessions SET stats_version = stats_version + 1
                WHERE id = sid AND state <> 'LIVE';
            IF FOUND THEN
                PERFORM set_config('qa_live.stats_bumped_' || sid, '1', true);
            END IF;
        END IF;
    END LOOP;
END $$""")
    for table, (session_of, columns) in WATCHED.items():
        new, old = session_of.format(row="NEW"), session_of.format(row="OLD")
        name = f"stats_{table}_changed"
        visits = "true" if table == "visits" else "false"
        op.execute(f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM stats_bump(ARRAY[{new}], {visits});
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM stats_bump(ARRAY[{old}], {visits});
    ELSE
        PERFORM stats_bump(ARRAY[{new}, {old}], {visits});
    END IF;
    RETURN NULL;
END $$""")
        op.execute(f"CREATE TRIGGER {name} AFTER INSERT OR DELETE OR UPDATE OF {columns} "
                   f"ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")
    op.execute("""
CREATE FUNCTION stats_live_sessions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.stats_version := OLD.stats_version + 1;
    NEW.visits_version := OLD.visits_version + 1;
    RETURN NEW;
END $$""")
    op.execute(f"CREATE TRIGGER stats_live_sessions_changed "
               f"BEFORE UPDATE OF {SESSION_COLUMNS} ON live_sessions FOR EACH ROW "
               "WHEN (OLD.state IS DISTINCT FROM NEW.state "
               "OR OLD.started_at IS DISTINCT FROM NEW.started_at "
               "OR OLD.ended_at IS DISTINCT FROM NEW.ended_at) "
               "EXECUTE FUNCTION stats_live_sessions_changed()")


def _drop_triggers():
    if op.get_bind().dialect.name == "postgresql":
        for table in (*WATCHED, "live_sessions"):
            op.execute(f"DROP TRIGGER IF EXISTS stats_{table}_changed ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS stats_{table}_changed()")
        op.execute("DROP FUNCTION IF EXISTS stats_bump(integer[], boolean)")
    else:
        for table in WATCHED:
            for name in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS stats_{table}_{name}")
        op.execute("DROP TRIGGER IF EXISTS stats_live_sessions_update")


# revision identifiers, used by Alembic.
revision = '0005_stats_cache'
down_revision = '0004_after_session'
branch_labels = None
depends_on = None


def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('stats_groups',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('department_key', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('asked', sa.Integer(), nullable=False),
    sa.Column('asked_advance', sa.Integer(), nullable=False),
    sa.Column('asked_live', sa.Integer(), nullable=False),
    sa.Column('valid', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('rejected_spam', sa.Integer(), nullable=False),
    sa.Column('rejected_off_topic', sa.Integer(), nullable=False),
    sa.Column('rejected_abusive', sa.Integer(), nullable=False),
    sa.Column('rejected_duplicate', sa.Integer(), nullable=False),
    sa.Column('rejected_personal_info', sa.Integer(), nullable=False),
    sa.Column('merged', sa.Integer(), nullable=False),
    sa.Column('pending', sa.Integer(), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('answered_later', sa.Integer(), nullable=False),
    sa.Column('second_replies', sa.Integer(), nullable=False),
    sa.Column('ratings_satisfied', sa.Integer(), nullable=False),
    sa.Column('ratings_basic', sa.Integer(), nullable=False),
    sa.Column('ratings_unsatisfied', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], name=op.f('fk_stats_groups_session_id_live_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'department_key', name=op.f('pk_stats_groups'))
    )
    op.create_table('stats_sessions',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('participant_visits', sa.Integer(), nullable=False),
    sa.Column('unique_visitors', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], name=op.f('fk_stats_sessions_session_id_live_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_stats_sessions'))
    )
    op.create_table('stats_periods',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('unique_visitors', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_stats_periods'))
    )
    op.create_table('stats_waits',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('department_key', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('wait_seconds', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('questions', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], name=op.f('fk_stats_waits_session_id_live_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'department_key', 'wait_seconds', name=op.f('pk_stats_waits'))
    )
    with op.batch_alter_table('live_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stats_version', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('visits_version', sa.Integer(), server_default='0', nullable=False))

    # ### end Alembic commands ###
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.create_index('ix_answers_kind_question', ['kind', 'question_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def downgrade():
    _drop_triggers()
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_index('ix_answers_kind_question')
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('live_sessions', schema=None) as batch_op:
        batch_op.drop_column('visits_version')
        batch_op.drop_column('stats_version')

    op.drop_table('stats_waits')
    op.drop_table('stats_periods')
    op.drop_table('stats_sessions')
    op.drop_table('stats_groups')
    # ### end Alembic commands ###
