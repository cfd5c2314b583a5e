"""What waits for a reviewer (审核) in a reviewed session: one row per item, whatever its kind."""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from qa_live.core.timeutil import UTCDateTime, utcnow
from qa_live.extensions import Model, db


class ReviewState(enum.StrEnum):
    """An item's review: waiting, approved (and so published), or sent back with a reason."""

    PENDING = "pending"
    APPROVED = "approved"
    RETURNED = "returned"


class ReviewItem(Model):
    """An answer, a host post (or a kind another module registers) awaiting review.

    Nothing of it is public until a reviewer approves it; then its kind publishes it
    (qa_live/live/review.py) and `target_id` names what was published. A kind whose rows exist
    before the review (a photo, uploaded first) may set `target_id` at submission instead.
    """

    __tablename__ = "review_items"
    __table_args__ = (Index("ix_review_items_session_state", "session_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[ReviewState] = mapped_column(
        db.Enum(ReviewState, native_enum=False, length=10), default=ReviewState.PENDING
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The question an answer is for (none for other kinds).
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    target_id: Mapped[int | None] = mapped_column()
    # The text as it will be published (a reviewer may edit it) and as its author sent it.
    body: Mapped[str] = mapped_column(Text, default="")
    original_body: Mapped[str] = mapped_column(Text, default="")
    # The kind's own fields as JSON (the guest of an answer, the kind of a post, …).
    data: Mapped[str] = mapped_column(Text, default="{}")
    reason: Mapped[str] = mapped_column(String(200), default="")
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def fields(self) -> dict[str, Any]:
        """The kind's own fields."""
        value = json.loads(self.data or "{}")
        return value if isinstance(value, dict) else {}

    def __repr__(self) -> str:
        return f"<ReviewItem {self.id} {self.kind} {self.state}>"
