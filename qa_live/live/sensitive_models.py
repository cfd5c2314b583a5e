"""The office's sensitive-word list (敏感词) and its version (qa_live/live/sensitive.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from qa_live.core.timeutil import UTCDateTime, utcnow
from qa_live.extensions import Model


class SensitiveWord(Model):
    """A word that flags a question for review (敏感词), kept by the office.

    Stored as the office wrote it; matching folds it (qa_live/live/screening.py).
    """

    __tablename__ = "sensitive_words"

    id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))


class SensitiveListVersion(Model):
    """One row: moves by one with every change to the word list, in the same transaction.

    Each worker compares it with the version its matcher was built from before screening, so a
    change made anywhere reaches every worker at its next question (qa_live/live/sensitive.py).
    0 means the list was never filled: the first use loads SENSITIVE_WORDS_FILE.
    """

    __tablename__ = "sensitive_list_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
