"""studio media: photo live, materials, stored files, stream and recording addresses

Revision ID: 0011_studio_media
Revises: 0010_studio_roles
Create Date: 2026-12-06 12:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = "0011_studio_media"
down_revision = "0010_studio_roles"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "session_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_session_photos_session_id", "session_photos", ["session_id"])
    op.create_table(
        "session_materials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("highlight", "guest", "background", "policy",
                                  name="materialkind", native_enum=False, length=12),
                  nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("subtitle", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_session_materials_order", "session_materials",
                    ["session_id", "kind", "position"])
    op.create_table(
        "media_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("variant", sa.String(length=16), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=True),
        sa.Column("material_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["material_id"], ["session_materials.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["photo_id"], ["session_photos.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_media_files_session_variant", "media_files", ["session_id", "variant"])
    op.create_index("ix_media_files_photo_id", "media_files", ["photo_id"])
    op.create_index("ix_media_files_material_id", "media_files", ["material_id"])
    # Plain ADD COLUMN (no batch rebuild): live_sessions carries the statistics triggers of
    # 0005, which a rebuild on SQLite would drop.
    op.add_column("live_sessions", sa.Column("stream_url", sa.String(length=500),
                                             server_default="", nullable=False))
    op.add_column("live_sessions", sa.Column("recording_url", sa.String(length=500),
                                             server_default="", nullable=False))


def downgrade():
    op.drop_column("live_sessions", "recording_url")
    op.drop_column("live_sessions", "stream_url")
    op.drop_index("ix_media_files_material_id", table_name="media_files")
    op.drop_index("ix_media_files_photo_id", table_name="media_files")
    op.drop_index("ix_media_files_session_variant", table_name="media_files")
    op.drop_table("media_files")
    op.drop_index("ix_session_materials_order", table_name="session_materials")
    op.drop_table("session_materials")
    op.drop_index("ix_session_photos_session_id", table_name="session_photos")
    op.drop_table("session_photos")
