"""studio roles: reviewed sessions and the review queue, the director's projector choice,
guests' names on answers, the office's approval of departments' sessions

Revision ID: 0010_studio_roles
Revises: 0009_claim_takeovers
Create Date: 2026-12-06 12:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = "0010_studio_roles"
down_revision = "0009_claim_takeovers"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD / DROP COLUMN (no batch rebuild): live_sessions and answers carry the statistics
    # triggers of 0005, which a rebuild on SQLite would drop.
    op.add_column("live_sessions", sa.Column("reviewed", sa.Boolean(), nullable=False,
                                             server_default=sa.false()))
    op.add_column("live_sessions", sa.Column("screen_kind", sa.String(length=20), nullable=False,
                                             server_default="latest"))
    op.add_column("live_sessions", sa.Column("screen_ref", sa.Integer(), nullable=True))
    op.add_column("live_sessions", sa.Column(
        "approval",
        sa.Enum("NOT_REQUIRED", "DRAFT", "SUBMITTED", "APPROVED", "RETURNED",
                name="approvalstate", native_enum=False, length=20),
        nullable=False, server_default="NOT_REQUIRED"))
    # The projector's highlighted question becomes the director's choice of that question.
    op.execute("UPDATE live_sessions SET screen_kind = 'question', "
               "screen_ref = highlighted_question_id WHERE highlighted_question_id IS NOT NULL")
    op.drop_column("live_sessions", "highlighted_question_id")
    op.add_column("answers", sa.Column("guest_name", sa.String(length=64), nullable=False,
                                       server_default=""))
    op.add_column("answers", sa.Column("guest_title", sa.String(length=120), nullable=False,
                                       server_default=""))
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.Enum("PENDING", "APPROVED", "RETURNED", name="reviewstate",
                                   native_enum=False, length=10), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("original_body", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"],
                                name=op.f("fk_review_items_session_id_live_sessions"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"],
                                name=op.f("fk_review_items_author_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"],
                                name=op.f("fk_review_items_question_id_questions"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"],
                                name=op.f("fk_review_items_reviewer_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
    )
    op.create_index("ix_review_items_session_state", "review_items", ["session_id", "state"])
    op.create_index(op.f("ix_review_items_question_id"), "review_items", ["question_id"])
    op.create_table(
        "session_approval_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"],
                                name=op.f("fk_session_approval_steps_session_id_live_sessions"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"],
                                name=op.f("fk_session_approval_steps_actor_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_approval_steps")),
    )
    op.create_index(op.f("ix_session_approval_steps_session_id"), "session_approval_steps",
                    ["session_id"])


def downgrade():
    op.drop_index(op.f("ix_session_approval_steps_session_id"),
                  table_name="session_approval_steps")
    op.drop_table("session_approval_steps")
    op.drop_index(op.f("ix_review_items_question_id"), table_name="review_items")
    op.drop_index("ix_review_items_session_state", table_name="review_items")
    op.drop_table("review_items")
    op.drop_column("answers", "guest_title")
    op.drop_column("answers", "guest_name")
    op.add_column("live_sessions", sa.Column("highlighted_question_id", sa.Integer(),
                                             nullable=True))
    op.execute("UPDATE live_sessions SET highlighted_question_id = screen_ref "
               "WHERE screen_kind = 'question'")
    op.drop_column("live_sessions", "approval")
    op.drop_column("live_sessions", "screen_ref")
    op.drop_column("live_sessions", "screen_kind")
    op.drop_column("live_sessions", "reviewed")
