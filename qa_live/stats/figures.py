"""The figures themselves: additive counts and roll-ups, with rates printed by core.figures.Rate.

Everything here works on numbers the grouped SQL queries (stats.queries) already produced; no
function in this module sees a question or a visit row. The rounding rule and the percentiles
are core.figures', which the live counters and the transcript read too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime

from qa_live.core.figures import Rate
from qa_live.live.models import RatingValue, RejectReason
from qa_live.planning.models import SessionState

#: Sessions that went live count as held (docs/metrics.md, "Sessions").
HELD_STATES = frozenset({SessionState.LIVE, SessionState.ENDED, SessionState.ARCHIVED})
UPCOMING_STATES = frozenset({SessionState.DRAFT, SessionState.ANNOUNCED})


@dataclass
class Counts:
    """Figures that add up: over departments to a session, over sessions to a year."""

    asked: int = 0
    asked_advance: int = 0
    asked_live: int = 0
    valid: int = 0
    rejected: int = 0
    rejected_spam: int = 0
    rejected_off_topic: int = 0
    rejected_abusive: int = 0
    rejected_duplicate: int = 0
    rejected_personal_info: int = 0
    merged: int = 0
    pending: int = 0
    answered: int = 0
    answered_later: int = 0
    second_replies: int = 0
    follow_ups_opened: int = 0
    follow_ups_done: int = 0
    follow_ups_impossible: int = 0
    follow_ups_overdue: int = 0
    ratings_satisfied: int = 0
    ratings_basic: int = 0
    ratings_unsatisfied: int = 0

    def add(self, other: Counts) -> Counts:
        """Add another group's figures into these; return self."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    @property
    def answered_live(self) -> int:
        """Valid questions whose first answer came while the session was on (or before)."""
        return self.answered - self.answered_later

    @property
    def unanswered(self) -> int:
        """Valid questions without any published answer."""
        return self.valid - self.answered

    @property
    def answer_rate(self) -> Rate:
        """答复率 = answered valid questions ÷ valid questions (second replies included)."""
        return Rate(self.answered, self.valid)

    @property
    def live_answer_rate(self) -> Rate:
        """现场答复率 = valid questions answered during the session ÷ valid questions."""
        return Rate(self.answered_live, self.valid)

    def rejected_by_reason(self) -> dict[RejectReason, int]:
        """Rejected questions per reason (a merged duplicate counts as duplicate)."""
        return {reason: getattr(self, f"rejected_{reason.value}") for reason in RejectReason}

    @property
    def follow_ups_closed(self) -> int:
        """Follow-ups concluded: done, or closed as impossible with a reason."""
        return self.follow_ups_done + self.follow_ups_impossible

    @property
    def follow_ups_open(self) -> int:
        """Follow-ups still being worked on."""
        return self.follow_ups_opened - self.follow_ups_closed

    @property
    def close_rate(self) -> Rate:
        """办结率 = closed follow-ups ÷ follow-ups opened."""
        return Rate(self.follow_ups_closed, self.follow_ups_opened)

    @property
    def ratings(self) -> int:
        """How many answers were rated."""
        return self.ratings_satisfied + self.ratings_basic + self.ratings_unsatisfied

    def rating_counts(self) -> dict[RatingValue, int]:
        """Ratings per value."""
        return {value: getattr(self, f"ratings_{value.value}") for value in RatingValue}

    def rating_shares(self) -> dict[RatingValue, Rate]:
        """Each rating value's share of all ratings."""
        total = self.ratings
        return {value: Rate(n, total) for value, n in self.rating_counts().items()}


@dataclass
class SessionFigures:
    """One session with its own figures."""

    id: int
    title: str
    slug: str
    state: SessionState
    scheduled_start: datetime
    local_date: date
    started_at: datetime | None
    ended_at: datetime | None
    peak_online: int
    department_ids: list[int]
    participant_visits: int = 0
    unique_visitors: int = 0
    counts: Counts = field(default_factory=Counts)
    # Imported with 人次 and unique visitors stated as totals (given, not counted from visits).
    participants_given: bool = False

    @property
    def held(self) -> bool:
        """The session went live."""
        return self.state in HELD_STATES


@dataclass
class DepartmentFigures:
    """A department's share of a period (department None: questions not assigned to one)."""

    id: int | None
    name: str
    sessions_online: int = 0
    participant_visits: int = 0
    counts: Counts = field(default_factory=Counts)


@dataclass
class MonthFigures:
    """One calendar month (local time) of the period."""

    year: int
    month: int
    sessions_held: int = 0
    participant_visits: int = 0
    counts: Counts = field(default_factory=Counts)

    @property
    def label(self) -> str:
        """'2026-03'."""
        return f"{self.year}-{self.month:02d}"


@dataclass
class Summary:
    """The figures of a period (a year, or any date range), optionally of one department."""

    start: date
    end: date
    department_id: int | None
    sessions: list[SessionFigures]
    departments: list[DepartmentFigures]
    months: list[MonthFigures]
    counts: Counts
    departments_online: int
    participant_visits: int
    unique_visitors: int
    peak_online: int
    peak_session: SessionFigures | None
    median_answer_seconds: float | None
    p90_answer_seconds: float | None

    def _count_states(self, states: frozenset[SessionState]) -> int:
        return sum(1 for s in self.sessions if s.state in states)

    @property
    def sessions_planned(self) -> int:
        """Every session in the plan for the period, whatever its state."""
        return len(self.sessions)

    @property
    def sessions_held(self) -> int:
        """Sessions that went live (live now, ended or archived)."""
        return self._count_states(HELD_STATES)

    @property
    def sessions_live(self) -> int:
        """Sessions live right now (counted among the held)."""
        return self._count_states(frozenset({SessionState.LIVE}))

    @property
    def sessions_upcoming(self) -> int:
        """Sessions still in draft or announced."""
        return self._count_states(UPCOMING_STATES)

    @property
    def sessions_cancelled(self) -> int:
        """Sessions called off."""
        return self._count_states(frozenset({SessionState.CANCELLED}))

    @property
    def sessions_with_given_participants(self) -> int:
        """Held sessions whose 人次 and unique visitors were imported as stated totals."""
        return sum(1 for s in self.sessions if s.held and s.participants_given)

    @property
    def whole_year(self) -> int | None:
        """The year, when the period is exactly one calendar year."""
        if (self.start.year == self.end.year and (self.start.month, self.start.day) == (1, 1)
                and (self.end.month, self.end.day) == (12, 31)):
            return self.start.year
        return None
