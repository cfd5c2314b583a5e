"""Questions citizens ask, in advance or live."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qa_live.core.timeutil import UTCDateTime, utcnow
from qa_live.extensions import Model, db
from qa_live.planning.models import Department, LiveSession

if TYPE_CHECKING:
    from qa_live.auth.models import User


class QuestionSource(enum.StrEnum):
    """When the question was asked."""

    ADVANCE = "advance"  # collected before the session (上线前征集)
    LIVE = "live"


class QuestionStatus(enum.StrEnum):
    """A question's life: pending → approved → answered, or rejected with a reason."""

    PENDING = "pending"
    APPROVED = "approved"
    ANSWERED = "answered"
    REJECTED = "rejected"


#: The only moves a question's status may make (see live.services.set_question_status).
QUESTION_TRANSITIONS: dict[QuestionStatus, frozenset[QuestionStatus]] = {
    QuestionStatus.PENDING: frozenset({QuestionStatus.APPROVED, QuestionStatus.REJECTED}),
    QuestionStatus.APPROVED: frozenset({QuestionStatus.ANSWERED, QuestionStatus.REJECTED}),
    QuestionStatus.ANSWERED: frozenset(),
    QuestionStatus.REJECTED: frozenset({QuestionStatus.APPROVED}),
}


class RejectReason(enum.StrEnum):
    """Why a question is not valid (有效提问 excludes these)."""

    SPAM = "spam"
    OFF_TOPIC = "off_topic"
    ABUSIVE = "abusive"
    DUPLICATE = "duplicate"
    PERSONAL_INFO = "personal_info"


class Question(Model):
    """A citizen's question (提问) in one session."""

    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("session_id", "client_id"),
        Index("ix_questions_session_status", "session_id", "status"),
        Index("ix_questions_visitor", "session_id", "visitor_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    # Made by the citizen's page per question; a retry with the same id returns the same row.
    client_id: Mapped[str] = mapped_column(String(36))
    visitor_id: Mapped[str] = mapped_column(String(64))
    # Secret part of the citizen's private status link.
    access_token: Mapped[str] = mapped_column(String(43), unique=True)
    nickname: Mapped[str] = mapped_column(String(32), default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[QuestionSource] = mapped_column(
        db.Enum(QuestionSource, native_enum=False, length=10)
    )
    # What the citizen wrote, kept as written; `text` is what is published (staff may edit it).
    original_text: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[QuestionStatus] = mapped_column(
        db.Enum(QuestionStatus, native_enum=False, length=10), default=QuestionStatus.PENDING
    )
    reject_reason: Mapped[RejectReason | None] = mapped_column(
        db.Enum(RejectReason, native_enum=False, length=20)
    )
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("questions.id", ondelete="SET NULL")
    )
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True
    )
    upvotes: Mapped[int] = mapped_column(default=0)
    pinned: Mapped[bool] = mapped_column(default=False)
    needs_follow_up: Mapped[bool] = mapped_column(default=False)
    sensitive_hits: Mapped[str] = mapped_column(String(500), default="")
    # List words found in the nickname (newline-separated), kept apart from the text's hits so
    # that clearing the nickname clears them.
    nickname_hits: Mapped[str] = mapped_column(String(200), default="", server_default="")
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    session: Mapped[LiveSession] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")
    answers: Mapped[list[Answer]] = relationship(
        back_populates="question", order_by="Answer.id", lazy="selectin",
        cascade="all, delete-orphan",
    )
    # Staff only: read by serialize.staff_question and nothing a citizen sees (live/notes.py).
    note: Mapped[StaffNote | None] = relationship(lazy="select", uselist=False,
                                                  cascade="all, delete-orphan")
    # Staff only, like the note: hosts taking over a colleague's claim (live/claims.py).
    takeovers: Mapped[list[ClaimTakeover]] = relationship(
        lazy="select", order_by="ClaimTakeover.id", cascade="all, delete-orphan")

    @property
    def flagged(self) -> bool:
        """The text or the nickname holds a sensitive word: a moderator must see it first."""
        return bool(self.sensitive_hits or self.nickname_hits)

    @property
    def is_valid(self) -> bool:
        """A valid question (有效提问) is one not rejected."""
        return self.status != QuestionStatus.REJECTED

    @property
    def masked_phone(self) -> str:
        """The phone number as shown by default: 138****1234."""
        return mask_phone(self.phone)

    def __repr__(self) -> str:
        return f"<Question {self.id} s{self.session_id} {self.status}>"


def mask_phone(phone: str | None) -> str:
    """Mask a mainland mobile number, keeping the first three and last four digits."""
    if not phone:
        return ""
    if len(phone) < 8:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


class AnswerKind(enum.StrEnum):
    """An answer given live, a second reply (二次答复) after offline work, or one given orally.

    ORAL is a supplementary record (补录): an answer given in the session by voice and typed in
    after it ended (qa_live/transcript/supplementary.py). It counts as answered in the session
    (``given_at``) from the moment it was recorded (``created_at``), docs/metrics.md.
    """

    LIVE = "live"
    FOLLOW_UP = "follow_up"
    ORAL = "oral"


class Answer(Model):
    """A published answer (答复) to a question."""

    __tablename__ = "answers"
    # Second replies are few among a year's answers: statistics find them by kind.
    __table_args__ = (Index("ix_answers_kind_question", "kind", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The answering unit shown to citizens (答复单位).
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL")
    )
    kind: Mapped[AnswerKind] = mapped_column(
        db.Enum(AnswerKind, native_enum=False, length=10), default=AnswerKind.LIVE
    )
    body: Mapped[str] = mapped_column(Text)
    # The guest (嘉宾) who gave it, when a text editor typed it in their name: kept as published,
    # whatever later becomes of the session's list of guests. author_id keeps who typed it.
    guest_name: Mapped[str] = mapped_column(String(64), default="", server_default="")
    guest_title: Mapped[str] = mapped_column(String(120), default="", server_default="")
    # When the answer was recorded in qa_live (for a supplementary record, 补录: after the session).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A supplementary record (kind oral): when the answer was given in the session.
    given_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    question: Mapped[Question] = relationship(back_populates="answers")
    department: Mapped[Department | None] = relationship(lazy="joined")
    # Who wrote (or, for a supplementary record, recorded) it; read by the transcript only.
    author: Mapped[User | None] = relationship(lazy="select", viewonly=True)
    revisions: Mapped[list[AnswerRevision]] = relationship(
        cascade="all, delete-orphan", order_by="AnswerRevision.id"
    )


class AnswerRevision(Model):
    """An earlier wording of an answer, kept when the answer is edited."""

    __tablename__ = "answer_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"),
                                           index=True)
    body: Mapped[str] = mapped_column(Text)
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    edited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Vote(Model):
    """One upvote by one visitor on one question."""

    __tablename__ = "votes"

    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    visitor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PostKind(enum.StrEnum):
    """What the host publishes besides answers."""

    POLICY = "policy"  # policy explanation (政策解读)
    NOTICE = "notice"  # notice to participants


class HostPost(Model):
    """A host's post in a session: a policy explanation or a notice."""

    __tablename__ = "host_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[PostKind] = mapped_column(db.Enum(PostKind, native_enum=False, length=10))
    body: Mapped[str] = mapped_column(Text)
    pinned: Mapped[bool] = mapped_column(default=False)
    removed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SessionEvent(Model):
    """One public change in a session, numbered, for replay to reconnecting citizens."""

    __tablename__ = "session_events"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    seq: Mapped[int]
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)  # JSON, as broadcast
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Visit(Model):
    """A visit (人次) of one visitor to a live session; reconnects within a visit reuse it."""

    __tablename__ = "visits"
    __table_args__ = (
        Index("ix_visits_session_visitor", "session_id", "visitor_id"),
        Index("ix_visits_session_open", "session_id", "ended_at"),
        # A visitor's other sessions, in one look-up: the distinct visitors of a year during a
        # live session (stats.grouped.new_visitors).
        Index("ix_visits_visitor_session", "visitor_id", "session_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    visitor_id: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Open sockets (tabs, reconnects) of this visit; the visit ends when it falls to zero.
    connections: Mapped[int] = mapped_column(default=0)


class StaffNote(Model):
    """An internal note on a question, for staff only: never in public payloads or exports."""

    __tablename__ = "staff_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), unique=True)
    body: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClaimTakeover(Model):
    """A host or the office took over a question a colleague had claimed (live/claims.py)."""

    __tablename__ = "claim_takeovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuestionRevision(Model):
    """An earlier published wording of a question, kept when staff correct it (transcript)."""

    __tablename__ = "question_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    edited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PostRevision(Model):
    """An earlier wording of a host post, kept when it is edited or corrected."""

    __tablename__ = "post_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("host_posts.id", ondelete="CASCADE"),
                                         index=True)
    body: Mapped[str] = mapped_column(Text)
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    edited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RatingValue(enum.StrEnum):
    """A citizen's satisfaction with an answer to their own question (满意度)."""

    SATISFIED = "satisfied"  # 满意
    BASIC = "basic"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意


class Rating(Model):
    """The asker's rating of one answer; one per answer, which they may change."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"),
                                           unique=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[RatingValue] = mapped_column(db.Enum(RatingValue, native_enum=False, length=12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RatingChange(Model):
    """A rating's earlier value, kept when the asker changes it: figures as of a date read it."""

    __tablename__ = "rating_changes"
    __table_args__ = (Index("ix_rating_changes_rating_at", "rating_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("ratings.id", ondelete="CASCADE"))
    old_value: Mapped[RatingValue] = mapped_column(
        db.Enum(RatingValue, native_enum=False, length=12))
    new_value: Mapped[RatingValue] = mapped_column(
        db.Enum(RatingValue, native_enum=False, length=12))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Tables of their own modules, registered with these (migrations and create_all see them all).
from qa_live.live import sensitive_models as _sensitive_models  # noqa: E402, F401
from qa_live.live import worker_models as _worker_models  # noqa: E402, F401
