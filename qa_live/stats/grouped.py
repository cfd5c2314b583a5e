"""The grouped SQL queries behind every figure (docs/metrics.md); no loop over question rows.

What "valid", "answered" and the wait to the first answer mean in SQL is live.metrics', which the
live counters read too.

Each query takes a list of sessions and groups by session (and department) in the database,
returning a few rows per session. stats.stored keeps these rows for sessions that are over;
stats.queries adds them up to departments, months and the period.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, and_, case, distinct, func, select

from qa_live.core.timeutil import to_local, utcnow
from qa_live.extensions import db
from qa_live.followup.models import FollowUp, FollowUpStatus
from qa_live.live.metrics import answered_after_session, is_answered, is_valid
from qa_live.live.models import (
    Answer,
    AnswerKind,
    Question,
    QuestionSource,
    QuestionStatus,
    Rating,
    RatingValue,
    RejectReason,
    Visit,
)
from qa_live.planning.models import LiveSession
from qa_live.stats.figures import Counts


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count(case((condition, 1)))


# The queries ----------------------------------------------------------------------------------


GroupKey = tuple[int, int | None]  # (session id, department id)


def question_counts(session_ids: Sequence[int],
                    department_id: int | None = None) -> dict[GroupKey, Counts]:
    """Question figures per (session, department) in one grouped pass over the questions."""
    if not session_ids:
        return {}
    status, reason = Question.status, Question.reject_reason
    rejected = status == QuestionStatus.REJECTED
    columns = {
        "asked": func.count(Question.id),
        "asked_advance": _count(Question.source == QuestionSource.ADVANCE),
        "asked_live": _count(Question.source == QuestionSource.LIVE),
        "valid": _count(is_valid()),
        "rejected": _count(rejected),
        **{f"rejected_{r.value}": _count(and_(rejected, reason == r)) for r in RejectReason},
        "merged": _count(and_(rejected, Question.merged_into_id.is_not(None))),
        "pending": _count(status == QuestionStatus.PENDING),
        "answered": _count(is_answered()),
        "answered_later": _count(answered_after_session()),
    }
    query = (select(Question.session_id, Question.department_id,
                    *(c.label(name) for name, c in columns.items()))
             .join(LiveSession, LiveSession.id == Question.session_id)
             .where(Question.session_id.in_(session_ids))
             .group_by(Question.session_id, Question.department_id))
    if department_id is not None:
        query = query.where(Question.department_id == department_id)
    result: dict[GroupKey, Counts] = {}
    for row in db.session.execute(query):
        values = row._mapping
        result[(row.session_id, row.department_id)] = Counts(
            **{name: values[name] for name in columns})
    return result


def second_reply_counts(session_ids: Sequence[int],
                        department_id: int | None = None) -> dict[GroupKey, int]:
    """Valid questions with at least one second reply (二次答复), per (session, department)."""
    if not session_ids:
        return {}
    query = (select(Question.session_id, Question.department_id,
                    func.count(distinct(Answer.question_id)))
             .join(Question, Question.id == Answer.question_id)
             .where(Answer.kind == AnswerKind.FOLLOW_UP, Question.session_id.in_(session_ids),
                    is_valid())
             .group_by(Question.session_id, Question.department_id))
    if department_id is not None:
        query = query.where(Question.department_id == department_id)
    return {(s, d): n for s, d, n in db.session.execute(query)}


def follow_up_counts(session_ids: Sequence[int], department_id: int | None = None,
                     today: date | None = None) -> dict[GroupKey, dict[str, int]]:
    """Follow-ups opened, done, impossible and overdue, per (session, department)."""
    if not session_ids:
        return {}
    if today is None:
        local_now = to_local(utcnow())
        assert local_now is not None
        today = local_now.date()
    still_open = FollowUp.status.in_([FollowUpStatus.OPEN, FollowUpStatus.IN_PROGRESS])
    query = (select(FollowUp.session_id, FollowUp.department_id,
                    func.count(FollowUp.id),
                    _count(FollowUp.status == FollowUpStatus.DONE),
                    _count(FollowUp.status == FollowUpStatus.IMPOSSIBLE),
                    _count(and_(still_open, FollowUp.due_date < today)))
             .where(FollowUp.session_id.in_(session_ids))
             .group_by(FollowUp.session_id, FollowUp.department_id))
    if department_id is not None:
        query = query.where(FollowUp.department_id == department_id)
    return {
        (s, d): {"follow_ups_opened": n, "follow_ups_done": done,
                 "follow_ups_impossible": impossible, "follow_ups_overdue": overdue}
        for s, d, n, done, impossible, overdue in db.session.execute(query)
    }


def rating_counts(session_ids: Sequence[int],
                  department_id: int | None = None) -> dict[GroupKey, dict[str, int]]:
    """Ratings per value, per (session, department of the rated question)."""
    if not session_ids:
        return {}
    query = (select(Question.session_id, Question.department_id,
                    *(_count(Rating.value == v) for v in RatingValue))
             .join(Question, Question.id == Rating.question_id)
             .where(Question.session_id.in_(session_ids))
             .group_by(Question.session_id, Question.department_id))
    if department_id is not None:
        query = query.where(Question.department_id == department_id)
    result = {}
    for row in db.session.execute(query):
        s, d, *values = row
        result[(s, d)] = {f"ratings_{v.value}": n
                          for v, n in zip(RatingValue, values, strict=True)}
    return result


def visit_counts(session_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Participant-visits and unique visitors per session."""
    if not session_ids:
        return {}
    rows = db.session.execute(
        select(Visit.session_id, func.count(Visit.id), func.count(distinct(Visit.visitor_id)))
        .where(Visit.session_id.in_(session_ids)).group_by(Visit.session_id)
    )
    return {s: (n, unique) for s, n, unique in rows}


def unique_visitors(session_ids: Sequence[int]) -> int:
    """Distinct visitors over several sessions (someone at three sessions counts once)."""
    if not session_ids:
        return 0
    return db.session.scalar(
        select(func.count(distinct(Visit.visitor_id))).where(Visit.session_id.in_(session_ids))
    ) or 0
