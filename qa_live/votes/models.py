"""Polls, their options, and each visitor's one response with its choices."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qa_live.core.timeutil import UTCDateTime, utcnow
from qa_live.extensions import Model, db
from qa_live.planning.models import Department


class PollKind(enum.StrEnum):
    """What a poll decides."""

    DEPARTMENTS = "departments"  # which departments go online next year (the December vote)
    THEME = "theme"  # a session's theme, voted from the department's candidates
    LIVE = "live"  # a question put to the audience during a live session


class PollState(enum.StrEnum):
    """A poll's life: draft → open → closed."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


#: The only moves a poll's state may make (see votes.ballots.change_state).
POLL_TRANSITIONS: dict[PollState, frozenset[PollState]] = {
    PollState.DRAFT: frozenset({PollState.OPEN}),
    PollState.OPEN: frozenset({PollState.CLOSED}),
    PollState.CLOSED: frozenset(),
}


class ResultsShown(enum.StrEnum):
    """When citizens see a poll's results (staff see them all along)."""

    LIVE = "live"  # while it is open, as answers come in
    CLOSED = "closed"  # once it has closed


class Poll(Model):
    """A question with 2–10 options; each visitor answers once (a public vote or a live poll)."""

    __tablename__ = "polls"
    __table_args__ = (Index("ix_polls_kind_year", "kind", "plan_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PollKind] = mapped_column(db.Enum(PollKind, native_enum=False, length=20))
    state: Mapped[PollState] = mapped_column(
        db.Enum(PollState, native_enum=False, length=10), default=PollState.DRAFT)
    # The session a theme vote or a live poll belongs to; none for the departments vote.
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), index=True)
    # The year a departments vote plans for.
    plan_year: Mapped[int | None] = mapped_column()
    question: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # 1: a single choice; more: choose up to this many.
    max_choices: Mapped[int] = mapped_column(default=1)
    results_shown: Mapped[ResultsShown] = mapped_column(
        db.Enum(ResultsShown, native_enum=False, length=10), default=ResultsShown.CLOSED)
    # A public vote may close by itself at this moment (it reads as closed from then on).
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # When the office acted on the result (drafted next year's plan, applied the theme).
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    options: Mapped[list[PollOption]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="PollOption.position")

    @property
    def multiple(self) -> bool:
        """More than one option may be chosen."""
        return self.max_choices > 1

    def is_closed(self, now: datetime) -> bool:
        """Closed by the office, or past its closing time."""
        if self.state == PollState.CLOSED:
            return True
        return (self.state == PollState.OPEN and self.closes_at is not None
                and now >= self.closes_at)

    def is_open(self, now: datetime) -> bool:
        """Taking answers at this moment."""
        return self.state == PollState.OPEN and not self.is_closed(now)

    def results_public(self, now: datetime) -> bool:
        """Citizens may see the results now."""
        if self.is_closed(now):
            return True
        return self.state == PollState.OPEN and self.results_shown == ResultsShown.LIVE

    def when_closed(self) -> datetime | None:
        """When it closed (by the office or by its closing time), if it has."""
        return self.closed_at or self.closes_at

    def __repr__(self) -> str:
        return f"<Poll {self.id} {self.kind} {self.state}>"


class PollOption(Model):
    """One answer a poll offers: a label, and the department it stands for in a departments vote."""

    __tablename__ = "poll_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    label: Mapped[str] = mapped_column(String(120))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"))

    department: Mapped[Department | None] = relationship(lazy="joined")


class PollResponse(Model):
    """A visitor's one answer to a poll (its choices are PollChoice rows)."""

    __tablename__ = "poll_responses"
    __table_args__ = (UniqueConstraint("poll_id", "visitor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    visitor_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PollChoice(Model):
    """An option chosen in a response; counted per option for the results."""

    __tablename__ = "poll_choices"
    __table_args__ = (Index("ix_poll_choices_poll_option", "poll_id", "option_id"),)

    response_id: Mapped[int] = mapped_column(
        ForeignKey("poll_responses.id", ondelete="CASCADE"), primary_key=True)
    option_id: Mapped[int] = mapped_column(
        ForeignKey("poll_options.id", ondelete="CASCADE"), primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
