"""Corrections of wording (typos) in any session state, every earlier wording kept.

The live console's edit, edit_answer and update_post refuse or do not fit a session that is
over; the office and hosts correct questions, answers and host posts here before or after
publishing, in any state. A correction of a published item goes through the event log
(a ``question`` or ``post`` upsert) so every open page updates. Callers check the role
(``can_correct``) and commit with events.commit_and_send().
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from qa_live.auth.models import User
from qa_live.extensions import db
from qa_live.live import access, answers, events, moderation, serialize
from qa_live.live.models import (
    Answer,
    AnswerRevision,
    HostPost,
    PostRevision,
    Question,
    QuestionRevision,
    QuestionStatus,
)
from qa_live.live.services import announce
from qa_live.planning.models import LiveSession


def can_correct(user: User, session: LiveSession) -> bool:
    """Corrections are for the office and hosts (the same people who moderate)."""
    return access.can_moderate(user, session)


def correct_question(question: Question, actor: User, text: str) -> bool:
    """Correct a question's published wording (not the citizen's original); say if changed."""
    changed = moderation.set_question_text(question, actor, text)
    if changed:
        announce(question, serialize.is_public(question))
    return changed


def correct_answer(reply: Answer, actor: User, body: str) -> bool:
    """Correct an answer (live or second reply), keeping the earlier wording; say if changed."""
    before = reply.body
    answers.edit_answer(reply, actor, body)  # keeps an AnswerRevision and announces
    return reply.body != before


def correct_post(item: HostPost, session: LiveSession, actor: User, body: str) -> bool:
    """Correct a host post's wording, keeping the earlier one; say if changed."""
    changed = moderation.set_post_body(item, actor, body)
    if changed:
        db.session.flush()
        if not item.removed:
            events.publish(session, "post", serialize.post(item))
        events.tell_staff(session.id, "post", serialize.post(item))
    return changed


@dataclass
class Revision:
    """One earlier wording of a question, answer or post, with who replaced it and when."""

    kind: str  # "question", "answer" or "post"
    item_id: int
    question_id: int | None  # the question it belongs to (answers and questions)
    text: str
    edited_at: datetime
    edited_by: str | None


def _names(ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u.display_name
            for u in db.session.scalars(select(User).where(User.id.in_(wanted)))}


def revisions_of(session: LiveSession) -> list[Revision]:
    """Every kept earlier wording in the session, newest first."""
    questions = db.session.execute(
        select(QuestionRevision, Question.id)
        .join(Question, Question.id == QuestionRevision.question_id)
        .where(Question.session_id == session.id)
    ).all()
    answers = db.session.execute(
        select(AnswerRevision, Answer.question_id)
        .join(Answer, Answer.id == AnswerRevision.answer_id)
        .join(Question, Question.id == Answer.question_id)
        .where(Question.session_id == session.id)
    ).all()
    posts = db.session.scalars(
        select(PostRevision).join(HostPost, HostPost.id == PostRevision.post_id)
        .where(HostPost.session_id == session.id)
    ).all()
    names = _names({r.edited_by_id for r, _q in questions} | {r.edited_by_id for r, _q in answers}
                   | {r.edited_by_id for r in posts})
    found = [Revision("question", r.question_id, qid, r.text, r.edited_at,
                      names.get(r.edited_by_id or 0)) for r, qid in questions]
    found += [Revision("answer", r.answer_id, qid, r.body, r.edited_at,
                       names.get(r.edited_by_id or 0)) for r, qid in answers]
    found += [Revision("post", r.post_id, None, r.body, r.edited_at,
                       names.get(r.edited_by_id or 0)) for r in posts]
    found.sort(key=lambda r: r.edited_at, reverse=True)
    return found


def correctable_questions(session: LiveSession) -> list[Question]:
    """Questions worth correcting: published and pending ones (rejected ones are never shown)."""
    return list(db.session.scalars(
        select(Question)
        .where(Question.session_id == session.id, Question.status != QuestionStatus.REJECTED)
        .order_by(Question.published_at.is_(None), Question.published_at, Question.id)
    ))
