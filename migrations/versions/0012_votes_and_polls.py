"""votes and polls: public votes (departments, themes) and live polls, one response per visitor

Revision ID: 0012_votes_and_polls
Revises: 0011_studio_media
Create Date: 2026-12-06 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0012_votes_and_polls"
down_revision = "0011_studio_media"
branch_labels = None
depends_on = None


def _enum(name, *values, length=10):
    return sa.Enum(*values, name=name, native_enum=False, length=length)


def _fk(column, target, name, ondelete="CASCADE"):
    return sa.ForeignKeyConstraint([column], [target], name=op.f(name), ondelete=ondelete)


def upgrade():
    # New tables only: no statistics trigger reads them (a poll answer's part in 人次 is a
    # row in visits, which carries the triggers of 0005).
    op.create_table(
        "polls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("pollkind", "DEPARTMENTS", "THEME", "LIVE", length=20),
                  nullable=False),
        sa.Column("state", _enum("pollstate", "DRAFT", "OPEN", "CLOSED"), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("plan_year", sa.Integer(), nullable=True),
        sa.Column("question", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("max_choices", sa.Integer(), nullable=False),
        sa.Column("results_shown", _enum("resultsshown", "LIVE", "CLOSED"), nullable=False),
        sa.Column("closes_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("applied_at", sa.DateTime(), nullable=True),
        _fk("created_by_id", "users.id", "fk_polls_created_by_id_users", "SET NULL"),
        _fk("session_id", "live_sessions.id", "fk_polls_session_id_live_sessions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_polls")),
    )
    op.create_index("ix_polls_kind_year", "polls", ["kind", "plan_year"])
    op.create_index(op.f("ix_polls_session_id"), "polls", ["session_id"])
    op.create_table(
        "poll_options",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        _fk("department_id", "departments.id", "fk_poll_options_department_id_departments",
            "SET NULL"),
        _fk("poll_id", "polls.id", "fk_poll_options_poll_id_polls"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_options")),
    )
    op.create_index(op.f("ix_poll_options_poll_id"), "poll_options", ["poll_id"])
    op.create_table(
        "poll_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _fk("poll_id", "polls.id", "fk_poll_responses_poll_id_polls"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_responses")),
        sa.UniqueConstraint("poll_id", "visitor_id",
                            name=op.f("uq_poll_responses_poll_id_visitor_id")),
    )
    op.create_table(
        "poll_choices",
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("option_id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        _fk("option_id", "poll_options.id", "fk_poll_choices_option_id_poll_options"),
        _fk("poll_id", "polls.id", "fk_poll_choices_poll_id_polls"),
        _fk("response_id", "poll_responses.id", "fk_poll_choices_response_id_poll_responses"),
        sa.PrimaryKeyConstraint("response_id", "option_id", name=op.f("pk_poll_choices")),
    )
    op.create_index("ix_poll_choices_poll_option", "poll_choices", ["poll_id", "option_id"])


def downgrade():
    op.drop_index("ix_poll_choices_poll_option", table_name="poll_choices")
    op.drop_table("poll_choices")
    op.drop_table("poll_responses")
    op.drop_index(op.f("ix_poll_options_poll_id"), table_name="poll_options")
    op.drop_table("poll_options")
    op.drop_index(op.f("ix_polls_session_id"), table_name="polls")
    op.drop_index("ix_polls_kind_year", table_name="polls")
    op.drop_table("polls")
