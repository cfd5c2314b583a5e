"""The rows of photo live and materials: photos, materials, and the files stored for them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qa_live.core.timeutil import UTCDateTime, utcnow
from qa_live.extensions import Model, db


class MaterialKind(enum.StrEnum):
    """The groups of a session's materials, in the order pages show them."""

    HIGHLIGHT = "highlight"  # 精彩看点
    GUEST = "guest"  # 嘉宾介绍, with a photo
    BACKGROUND = "background"  # 背景资料
    POLICY = "policy"  # 政策文件 (a PDF)


class MediaFile(Model):
    """One stored file: its key in the store, and what it is, from our own checks.

    The served Content-Type is this row's, never the upload's. A photo has several (sizes and
    formats); a policy document one PDF; a guest profile its photo's sizes; a session's
    uploaded recording one file with neither photo nor material.
    """

    __tablename__ = "media_files"
    __table_args__ = (Index("ix_media_files_session_variant", "session_id", "variant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    width: Mapped[int | None]
    height: Mapped[int | None]
    # "image", "pdf" or "recording"
    variant: Mapped[str] = mapped_column(String(16))
    photo_id: Mapped[int | None] = mapped_column(
        ForeignKey("session_photos.id", ondelete="CASCADE"), index=True)
    material_id: Mapped[int | None] = mapped_column(
        ForeignKey("session_materials.id", ondelete="CASCADE"), index=True)
    # The name given to the download (a policy document's), made from the material's title.
    filename: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Photo(Model):
    """A photo with a caption in a session's stream (图文直播)."""

    __tablename__ = "session_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    caption: Mapped[str] = mapped_column(Text, default="")
    # Of the largest size kept (the upload itself is not kept: it may carry EXIF and GPS).
    width: Mapped[int]
    height: Mapped[int]
    removed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    files: Mapped[list[MediaFile]] = relationship(
        lazy="selectin", order_by=[MediaFile.width, MediaFile.content_type],
        cascade="all, delete-orphan")


class Material(Model):
    """One piece of a session's materials: a note, a policy document, a guest, a highlight."""

    __tablename__ = "session_materials"
    __table_args__ = (Index("ix_session_materials_order", "session_id", "kind", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    kind: Mapped[MaterialKind] = mapped_column(db.Enum(MaterialKind, native_enum=False,
                                                       length=12))
    position: Mapped[int] = mapped_column(default=0)
    # A note's or document's title; a guest's name.
    title: Mapped[str] = mapped_column(String(120))
    # A guest's position (职务); empty for the other kinds.
    subtitle: Mapped[str] = mapped_column(String(120), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    pages: Mapped[int | None]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    files: Mapped[list[MediaFile]] = relationship(
        lazy="selectin", order_by=[MediaFile.width, MediaFile.content_type],
        cascade="all, delete-orphan")
