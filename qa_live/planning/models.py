"""The annual plan and the live sessions (专场) it holds, with their departments and staff."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

# Departments belong with the staff who work in them (auth); planning links them to sessions.
from qa_live.auth.models import Department, User
from qa_live.core.timeutil import UTCDateTime, utcnow
from qa_live.extensions import Model, db

__all__ = [
    "ANNOUNCEABLE", "PUBLIC_DUTIES", "SESSION_TRANSITIONS", "AnnualPlan", "ApprovalState",
    "ApprovalStep", "Department", "Duty", "LiveSession", "ModerationMode", "SessionGuest",
    "SessionStaff", "SessionState", "session_departments",
]


class SessionState(enum.StrEnum):
    """Where a live session is in its life."""

    DRAFT = "draft"
    ANNOUNCED = "announced"
    LIVE = "live"
    ENDED = "ended"
    ARCHIVED = "archived"
    CANCELLED = "cancelled"


#: The only moves a session's state may make (see planning.services.change_state).
SESSION_TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    SessionState.DRAFT: frozenset({SessionState.ANNOUNCED, SessionState.CANCELLED}),
    SessionState.ANNOUNCED: frozenset({SessionState.LIVE, SessionState.CANCELLED}),
    SessionState.LIVE: frozenset({SessionState.ENDED}),
    SessionState.ENDED: frozenset({SessionState.ARCHIVED}),
    SessionState.ARCHIVED: frozenset(),
    SessionState.CANCELLED: frozenset(),
}


class ModerationMode(enum.StrEnum):
    """Whether questions wait for review before the public sees them."""

    PRE = "pre"  # pre-moderated: staff approve each question first
    OPEN = "open"  # published at once; moderation acts afterwards


class Duty(enum.StrEnum):
    """What a staff member does in one session; each duty needs the role of the same name."""

    HOST = "host"
    ANSWERER = "answerer"
    EDITOR = "editor"  # 文字编辑
    REVIEWER = "reviewer"  # 审核
    DIRECTOR = "director"  # 导播


#: Duties citizens see on the session's page (the studio's staff work behind the scenes).
PUBLIC_DUTIES = frozenset({Duty.HOST, Duty.ANSWERER})


class ApprovalState(enum.StrEnum):
    """Whether a session may be announced: the office approves what a department planned."""

    NOT_REQUIRED = "not_required"  # planned by the office itself
    DRAFT = "draft"  # a department's planner is still preparing it
    SUBMITTED = "submitted"  # waiting in the office's queue
    APPROVED = "approved"
    RETURNED = "returned"  # sent back to the department with a reason


#: Approval states in which a session may be announced.
ANNOUNCEABLE = frozenset({ApprovalState.NOT_REQUIRED, ApprovalState.APPROVED})


session_departments = Table(
    "session_departments",
    db.metadata,
    Column("session_id", ForeignKey("live_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id", ondelete="RESTRICT"), primary_key=True),
)


class AnnualPlan(Model):
    """The office's plan for one year: a title and notes; its sessions are those dated that year."""

    __tablename__ = "annual_plans"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(120), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SessionStaff(Model):
    """A staff member on duty in a session, as host or answerer."""

    __tablename__ = "session_staff"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    duty: Mapped[Duty] = mapped_column(
        db.Enum(Duty, native_enum=False, length=20), primary_key=True
    )

    user: Mapped[User] = relationship(lazy="joined")


class SessionGuest(Model):
    """A guest (嘉宾) named on the announcement: a person and their title."""

    __tablename__ = "session_guests"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(120), default="")


class LiveSession(Model):
    """One scheduled, themed online Q&A session (网络在线问政专场)."""

    __tablename__ = "live_sessions"
    __table_args__ = (
        Index("ix_live_sessions_year_start", "plan_year", "scheduled_start"),
        UniqueConstraint("slug"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    scheduled_start: Mapped[datetime] = mapped_column(UTCDateTime)
    scheduled_end: Mapped[datetime] = mapped_column(UTCDateTime)
    # Derived from scheduled_start in the local zone by the planning services; kept as a
    # column so the year's plan and statistics group by an index, not by date functions.
    plan_year: Mapped[int] = mapped_column(index=True)
    state: Mapped[SessionState] = mapped_column(
        db.Enum(SessionState, native_enum=False, length=20), default=SessionState.DRAFT, index=True
    )
    moderation_mode: Mapped[ModerationMode] = mapped_column(
        db.Enum(ModerationMode, native_enum=False, length=10), default=ModerationMode.PRE
    )
    precollect_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    precollect_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")
    # Highest sequence number written to this session's event log (the live issue's replay).
    last_seq: Mapped[int] = mapped_column(default=0)
    # Most citizens' pages open at once while live (docs/metrics.md: peak concurrent viewers).
    peak_online: Mapped[int] = mapped_column(default=0, server_default="0")
    # Raised by database triggers when rows its statistics come from change while the session
    # is not live (qa_live/stats/models.py); never written by the application.
    stats_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # The same, for changes to its visits only (distinct visitors over a period).
    visits_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Imported with its 人次 and unique visitors stated as totals, not as visit rows
    # (docs/imports.md: those figures are given, not counted).
    participants_given: Mapped[bool] = mapped_column(default=False, server_default="0")
    # Answers and host posts wait for a reviewer's approval (qa_live/live/review.py).
    reviewed: Mapped[bool] = mapped_column(default=False, server_default=false())
    # What the director puts on the room's projector (qa_live/live/screen.py): a kind, and the
    # id of the item of that kind when it has one (no foreign key: kinds live in many tables).
    screen_kind: Mapped[str] = mapped_column(String(20), default="latest",
                                             server_default="latest")
    screen_ref: Mapped[int | None] = mapped_column()
    # The office's approval of a department's plan (qa_live/planning/approval.py).
    approval: Mapped[ApprovalState] = mapped_column(
        db.Enum(ApprovalState, native_enum=False, length=20),
        default=ApprovalState.NOT_REQUIRED, server_default=ApprovalState.NOT_REQUIRED.name,
    )
    # Video or audio live (视频直播): an HLS address (planning/streams.py); and the recording's
    # address once the session has been held (an uploaded recording is a media file instead).
    stream_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    recording_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    departments: Mapped[list[Department]] = relationship(
        secondary=session_departments, lazy="selectin", order_by=Department.name
    )
    staff: Mapped[list[SessionStaff]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    guests: Mapped[list[SessionGuest]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=SessionGuest.position
    )

    def staff_with(self, duty: Duty) -> list[User]:
        """The staff on duty in this session with the given duty."""
        return [row.user for row in self.staff if row.duty == duty]

    @property
    def hosts(self) -> list[User]:
        """The session's hosts."""
        return self.staff_with(Duty.HOST)

    @property
    def answerers(self) -> list[User]:
        """The session's on-duty answerers."""
        return self.staff_with(Duty.ANSWERER)

    @property
    def highlighted_question_id(self) -> int | None:
        """The question the projector shows as being answered now, if that is its choice."""
        return self.screen_ref if self.screen_kind == "question" else None

    @property
    def is_public(self) -> bool:
        """Citizens can see the session (anything past draft)."""
        return self.state != SessionState.DRAFT

    def precollect_open(self, now: datetime) -> bool:
        """Tell whether questions may be sent in advance at this moment."""
        if self.state != SessionState.ANNOUNCED:
            return False
        if self.precollect_opens_at is None or self.precollect_closes_at is None:
            return False
        return self.precollect_opens_at <= now < self.precollect_closes_at

    def __repr__(self) -> str:
        return f"<LiveSession {self.id} {self.slug} {self.state}>"


class ApprovalStep(Model):
    """One step of a session's approval: submitted, approved, returned (with a reason), reopened."""

    __tablename__ = "session_approval_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship(lazy="joined")
