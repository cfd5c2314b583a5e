"""claim take-overs: a host or the office taking over a question a colleague had claimed

Revision ID: 0009_claim_takeovers
Revises: 0008_figures
Create Date: 2026-12-06 12:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = "0009_claim_takeovers"
down_revision = "0008_figures"
branch_labels = None
depends_on = None


def upgrade():
    # A table of its own: questions carries the statistics triggers of 0005, and a foreign-key
    # column added to it on SQLite would need a batch rebuild that drops them.
    op.create_table(
        "claim_takeovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("from_user_id", sa.Integer(), nullable=True),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["from_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_claim_takeovers_question_id", "claim_takeovers", ["question_id"])


def downgrade():
    op.drop_index("ix_claim_takeovers_question_id", table_name="claim_takeovers")
    op.drop_table("claim_takeovers")
