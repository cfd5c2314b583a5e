"""figures as of a past date, stored per session under its stats_version (stats17)

Revision ID: 0014b_stats_as_of
Revises: 0014a_search_archive
Create Date: 2026-12-06 08:15:00

stats_as_of keeps one session's figures as of one moment (the end of a past local day), computed
once when a report for that day first needs them and read while the session's stats_version is
the one they were computed at. It is a cache of what was asked: it starts empty, and a row
missing is counted on demand (exactly, from the rows), so there is nothing to fill here.

The figures as of a date also read questions.published_at and rejected_at, visits.started_at and
ratings' times, so the triggers of 0005 now raise stats_version when those change too (before,
only the columns the figures of today read did). An index on visits (visitor_id, session_id)
lets a year's distinct visitors during a live session look each live visitor up once.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014b_stats_as_of'
down_revision = '0014a_search_archive'
branch_labels = None
depends_on = None

BEFORE = {
    "questions": "session_id, status, source, reject_reason, merged_into_id, department_id, "
                 "created_at, answered_at",
    "visits": "session_id, visitor_id",
    "ratings": "question_id, answer_id, value",
}
AFTER = {
    "questions": BEFORE["questions"] + ", published_at, rejected_at",
    "visits": BEFORE["visits"] + ", started_at",
    "ratings": BEFORE["ratings"] + ", created_at, updated_at",
}
SESSION_OF = {
    "questions": "{row}.session_id",
    "visits": "{row}.session_id",
    "ratings": "(SELECT session_id FROM questions WHERE id = {row}.question_id)",
}
BUMP = ("UPDATE live_sessions SET stats_version = stats_version + 1{visits} "
        "WHERE id IN ({sessions}) AND state <> 'LIVE'")
VISITS = ", visits_version = visits_version + 1"


def _watch(columns: dict[str, str]) -> None:
    """Re-create the update triggers of 0005 on these tables with these columns."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, cols in columns.items():
        if postgresql:
            name = f"stats_{table}_changed"
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            op.execute(f"CREATE TRIGGER {name} AFTER INSERT OR DELETE OR UPDATE OF {cols} "
                       f"ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")
        else:
            new, old = SESSION_OF[table].format(row="NEW"), SESSION_OF[table].format(row="OLD")
            bump = BUMP.format(sessions=f"{new}, {old}",
                               visits=VISITS if table == "visits" else "")
            op.execute(f"DROP TRIGGER IF EXISTS stats_{table}_update")
            op.execute(f"CREATE TRIGGER stats_{table}_update AFTER UPDATE OF {cols} ON {table} "
                       f"BEGIN {bump}; END")


def upgrade():
    op.create_table('stats_as_of',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('figures', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'],
                            name=op.f('fk_stats_as_of_session_id_live_sessions'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'at', name=op.f('pk_stats_as_of'))
    )
    _watch(AFTER)
    op.create_index('ix_visits_visitor_session', 'visits', ['visitor_id', 'session_id'],
                    unique=False)


def downgrade():
    op.drop_index('ix_visits_visitor_session', table_name='visits')
    _watch(BEFORE)
    op.drop_table('stats_as_of')
