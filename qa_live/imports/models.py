"""Which sessions came from which import file (the file's own ids), and the files imported."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from qa_live.core.timeutil import UTCDateTime, utcnow
from qa_live.extensions import Model


class SessionImport(Model):
    """One import file, stored whole or not at all."""

    __tablename__ = "session_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sessions: Mapped[int] = mapped_column(default=0)
    questions: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(Text, default="")


class ImportedSession(Model):
    """A session recorded from an import file, under the file's own id for it."""

    __tablename__ = "imported_sessions"
    __table_args__ = (UniqueConstraint("external_id"),)

    session_id: Mapped[int] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("session_imports.id", ondelete="CASCADE"),
                                           index=True)
    external_id: Mapped[str] = mapped_column(String(64))
