"""Follow-ups of questions that need offline work, their history, and the working-day calendar."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qa_live.auth.models import User
from qa_live.core.timeutil import UTCDateTime, utcnow
from qa_live.extensions import Model, db
from qa_live.live.models import Answer, Question
from qa_live.planning.models import Department


class FollowUpStatus(enum.StrEnum):
    """A follow-up's life: open → in progress → done, or cannot be done (with a reason)."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    IMPOSSIBLE = "impossible"


#: The only moves a follow-up's status may make.
FOLLOW_UP_TRANSITIONS: dict[FollowUpStatus, frozenset[FollowUpStatus]] = {
    FollowUpStatus.OPEN: frozenset({FollowUpStatus.IN_PROGRESS, FollowUpStatus.DONE,
                                    FollowUpStatus.IMPOSSIBLE}),
    FollowUpStatus.IN_PROGRESS: frozenset({FollowUpStatus.OPEN, FollowUpStatus.DONE,
                                           FollowUpStatus.IMPOSSIBLE}),
    FollowUpStatus.DONE: frozenset(),
    FollowUpStatus.IMPOSSIBLE: frozenset(),
}


class NotifyState(enum.StrEnum):
    """Whether the citizen (who left a phone number) still has to be told of the second reply."""

    NONE = "none"  # no phone number, or nothing to tell yet
    PENDING = "pending"  # a second reply is out and the citizen left a number: call or text them
    DONE = "done"


class FollowUp(Model):
    """Offline work (线下落实) on one question, ending in a second reply (二次答复)."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        Index("ix_follow_ups_department_status", "department_id", "status"),
        Index("ix_follow_ups_status_due", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), unique=True
    )
    session_id: Mapped[int] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), index=True
    )
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL")
    )
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[FollowUpStatus] = mapped_column(
        db.Enum(FollowUpStatus, native_enum=False, length=12), default=FollowUpStatus.OPEN
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    # Why it cannot be done (status impossible).
    reason: Mapped[str] = mapped_column(Text, default="")
    # Made automatically when the session ended with the question unanswered.
    automatic: Mapped[bool] = mapped_column(default=False)
    # The second reply published when the follow-up closed.
    answer_id: Mapped[int | None] = mapped_column(ForeignKey("answers.id", ondelete="SET NULL"))
    notify_state: Mapped[NotifyState] = mapped_column(
        db.Enum(NotifyState, native_enum=False, length=8), default=NotifyState.NONE
    )
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    question: Mapped[Question] = relationship(lazy="joined")
    changes: Mapped[list[FollowUpChange]] = relationship(
        cascade="all, delete-orphan", order_by="FollowUpChange.id"
    )
    # Read-only conveniences for pages and lists (no schema of their own).
    department: Mapped[Department | None] = relationship(lazy="joined", viewonly=True)
    assignee: Mapped[User | None] = relationship(
        foreign_keys=[assignee_id], lazy="joined", viewonly=True
    )
    answer: Mapped[Answer | None] = relationship(viewonly=True)

    @property
    def is_closed(self) -> bool:
        """Done or cannot be done: nothing more to work on."""
        return self.status in (FollowUpStatus.DONE, FollowUpStatus.IMPOSSIBLE)


class FollowUpChange(Model):
    """One recorded change to a follow-up: who, when, what (field, before, after)."""

    __tablename__ = "follow_up_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(
        ForeignKey("follow_ups.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    field: Mapped[str] = mapped_column(String(32))  # "created", "status", "due_date", …
    old: Mapped[str] = mapped_column(Text, default="")
    new: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User | None] = relationship(lazy="joined", viewonly=True)


class DayKind(enum.StrEnum):
    """An exception to the Monday–Friday working week."""

    HOLIDAY = "holiday"  # a public holiday on a weekday (法定节假日)
    WORKDAY = "workday"  # a make-up working day on a weekend (调休上班)


class CalendarDay(Model):
    """A day that breaks the Monday–Friday rule, kept by the office."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[DayKind] = mapped_column(db.Enum(DayKind, native_enum=False, length=8))
    name: Mapped[str] = mapped_column(String(40), default="")
