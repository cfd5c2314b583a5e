"""moderation tools: word-list version, nickname hits, staff notes, projector highlight

Revision ID: 0006_moderation_tools
Revises: 0005_stats_cache
Create Date: 2026-12-06 10:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = "0006_moderation_tools"
down_revision = "0005_stats_cache"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sensitive_list_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    # A list already filled counts as loaded: the default file is not loaded into it again.
    op.execute("INSERT INTO sensitive_list_version (id, version) SELECT 1, CASE WHEN EXISTS "
               "(SELECT 1 FROM sensitive_words) THEN 1 ELSE 0 END")
    # No triggers on this table: a batch rebuild on SQLite loses nothing.
    with op.batch_alter_table("sensitive_words") as batch:
        batch.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_sensitive_words_created_by_id_users", "users",
                                 ["created_by_id"], ["id"], ondelete="SET NULL")
    op.create_table(
        "staff_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("question_id"),
    )
    # Plain ADD COLUMN (no batch rebuild): questions and live_sessions carry the statistics
    # triggers of 0005, which a rebuild on SQLite would drop.
    op.add_column("questions", sa.Column("nickname_hits", sa.String(length=200),
                                         server_default="", nullable=False))
    op.add_column("live_sessions", sa.Column("highlighted_question_id", sa.Integer(),
                                             nullable=True))


def downgrade():
    # Plain DROP COLUMN for the same reason (SQLite 3.35+ has it).
    op.drop_column("live_sessions", "highlighted_question_id")
    op.drop_column("questions", "nickname_hits")
    op.drop_table("staff_notes")
    with op.batch_alter_table("sensitive_words") as batch:
        batch.drop_constraint("fk_sensitive_words_created_by_id_users", type_="foreignkey")
        batch.drop_column("created_by_id")
    op.drop_table("sensitive_list_version")
