"""Citizens' satisfaction with the answers to their own questions (满意度).

Only the asker rates: the view checks the visitor id or the private /q/<token> link before
calling ``rate_answer``. One rating per answer, which the asker may change; the figures are
defined in docs/metrics.md and counted by the statistics (stats.grouped.rating_counts).
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live.models import Answer, Question, Rating, RatingChange, RatingValue
from qa_live.live.services import QuestionRefused


def value_label(value: RatingValue) -> str:
    """The translated name of a rating (满意 / 基本满意 / 不满意)."""
    return {
        RatingValue.SATISFIED: _("Satisfied"),
        RatingValue.BASIC: _("Basically satisfied"),
        RatingValue.UNSATISFIED: _("Not satisfied"),
    }[value]


def parse_value(value: object) -> RatingValue:
    """Read a rating value sent by a citizen, or refuse it with a clear message."""
    if isinstance(value, str):
        try:
            return RatingValue(value)
        except ValueError:
            pass
    raise QuestionRefused(
        _("Choose one of: satisfied, basic, unsatisfied."), "invalid")


def is_asker(question: Question, visitor_id: str | None) -> bool:
    """The visitor is the one who asked the question."""
    return bool(visitor_id) and visitor_id == question.visitor_id


def rate_answer(question: Question, answer: Answer, value: RatingValue,
                now: datetime | None = None) -> tuple[Rating, bool]:
    """Store or change the asker's rating of one answer; return it and whether it is new."""
    if answer.question_id != question.id:
        raise QuestionRefused(_("There is no such answer to this question."), "not_found")
    now = now or utcnow()
    rating = db.session.scalar(select(Rating).where(Rating.answer_id == answer.id))
    if rating is None:
        try:
            with db.session.begin_nested():
                rating = Rating(answer_id=answer.id, question_id=question.id, value=value,
                                created_at=now, updated_at=now)
                db.session.add(rating)
            return rating, True
        except IntegrityError:  # the same asker's other tab got there first: change that one
            rating = db.session.scalar(select(Rating).where(Rating.answer_id == answer.id))
            if rating is None:
                raise
    if rating.value != value:
        # The earlier value is kept: figures as of a date before now count it (docs/metrics.md).
        db.session.add(RatingChange(rating_id=rating.id, old_value=rating.value, new_value=value,
                                    at=now))
        rating.value = value
        rating.updated_at = now
        db.session.flush()
    return rating, False


def ratings_of(question: Question) -> dict[int, Rating]:
    """The ratings given to a question's answers, by answer id."""
    return {r.answer_id: r for r in db.session.scalars(
        select(Rating).where(Rating.question_id == question.id))}


def rating_json(rating: Rating) -> dict[str, object]:
    """A rating as the JSON API returns it."""
    return {
        "answer_id": rating.answer_id,
        "question_id": rating.question_id,
        "value": rating.value.value,
        "label": value_label(rating.value),
        "created_at": rating.created_at.isoformat(),
        "updated_at": rating.updated_at.isoformat(),
    }
