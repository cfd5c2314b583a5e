"""Stored per-session figures, so a year's page adds up a few rows instead of a year of questions.

A session's grouped counts (stats.queries) are stored here once it is no longer live, stamped
with the session's ``stats_version``. Database triggers (migration 0005) raise that version
whenever a row the figures come from changes for a session that is not live: a question asked,
reviewed, merged, moved or answered, an answer or second reply, a rating, a visit, or the session
itself starting or ending. Stored rows whose version is behind are never read; the page computes
that session afresh and stores it again. The triggers catch every write, also bulk SQL and
writes from other processes, so no service has to remember to tell the statistics.

Rows here hold only numbers that come from SQL ``GROUP BY`` queries; they can always be thrown
away (``flask stats refresh``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from qa_live.core.timeutil import UTCDateTime
from qa_live.extensions import Model

#: department_key of questions not assigned to a department (no department has id 0).
UNASSIGNED = 0


class StatsSession(Model):
    """A session's stored figures: which version of its rows they describe, and its visits."""

    __tablename__ = "stats_sessions"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int]
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    participant_visits: Mapped[int]
    unique_visitors: Mapped[int]
    # The latest moment any row these figures come from changed (asked, published, rejected,
    # answered, a second reply or 补录 recorded, a rating given or changed, a visit begun, the
    # session started or ended): figures as of any later moment are these same figures.
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StatsGroup(Model):
    """The additive question, answer and rating counts of one (session, department)."""

    __tablename__ = "stats_groups"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), primary_key=True)
    department_key: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    asked: Mapped[int]
    asked_advance: Mapped[int]
    asked_live: Mapped[int]
    valid: Mapped[int]
    rejected: Mapped[int]
    rejected_spam: Mapped[int]
    rejected_off_topic: Mapped[int]
    rejected_abusive: Mapped[int]
    rejected_duplicate: Mapped[int]
    rejected_personal_info: Mapped[int]
    merged: Mapped[int]
    pending: Mapped[int]
    answered: Mapped[int]
    answered_later: Mapped[int]
    second_replies: Mapped[int]
    ratings_satisfied: Mapped[int]
    ratings_basic: Mapped[int]
    ratings_unsatisfied: Mapped[int]


class StatsWait(Model):
    """How many answered questions of one (session, department) waited exactly so many seconds.

    Percentiles do not add up, but these histograms do: the period's median and 90th
    percentile are read off the sum of its sessions' histograms (stats.queries).
    """

    __tablename__ = "stats_waits"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), primary_key=True)
    department_key: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    wait_seconds: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    questions: Mapped[int]


class StatsPeriod(Model):
    """Distinct visitors over a set of sessions (a year, a range, a department's sessions).

    Distinct counts do not add up over sessions, so the count is stored per set, under a key
    naming each session with its ``visits_version`` (raised by the triggers on changes to its
    visits, and when it starts or ends): a change to one of their visits makes a new key.
    """

    __tablename__ = "stats_periods"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    unique_visitors: Mapped[int]


class StatsAsOf(Model):
    """One session's figures as of a past moment (the end of a local day), as JSON.

    Read only while the session's ``stats_version`` is still ``version``: the past changes only
    when a row of the session does (a 补录 given in the past, an import, a fix by SQL), and every
    such change raises the version (migrations 0005 and 0014b).
    """

    __tablename__ = "stats_as_of"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    version: Mapped[int]
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    figures: Mapped[str] = mapped_column(Text)
