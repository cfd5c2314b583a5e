"""Answers: publishing one (live, or a second reply after offline work) and rewording it.

``publish_answer`` is the one operation behind the console's answer (moderation.answer), a
follow-up closed with its second reply (followup.services.close_done) and an answer given
orally and recorded after the session (transcript.supplementary, 补录): the same checks of the
text, the same moves of the question's status, the same events.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _

from qa_live.auth.models import User
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import access, claims, serialize
from qa_live.live.models import Answer, AnswerKind, AnswerRevision, Question, QuestionStatus
from qa_live.live.services import QuestionRefused, announce, set_question_status
from qa_live.live.validation import clean_text
from qa_live.planning.models import SessionState


def answer_text(body: object) -> str:
    """An answer's text, cleaned; refused when empty or longer than ANSWER_MAX_LENGTH."""
    text = clean_text(body)
    if not text:
        raise QuestionRefused(_("Write the answer first."), "invalid")
    limit = current_app.config["ANSWER_MAX_LENGTH"]
    if len(text) > limit:
        raise QuestionRefused(_("An answer may have at most %(n)d characters.", n=limit),
                              "invalid")
    return text


def publish_answer(question: Question, actor: User, body: object, *,
                   kind: AnswerKind = AnswerKind.LIVE, department_id: int | None = None,
                   take_over: bool = False, guest: tuple[str, str] | None = None,
                   now: datetime | None = None, given_at: datetime | None = None) -> Answer:
    """Publish an answer under a question; a pending question is published with it.

    The rules of claims.py hold here, for the console, the socket, the API and second replies
    alike: only a host or the office publishes a pending question by answering it, and nobody
    answers past a colleague's live claim unless a host or the office takes it over
    (take_over, recorded). The question becomes answered (its first answer stamps
    answered_at), any claim on it ends, and the change goes out to staff, the public and the
    asker after the commit. The caller checks the department rule and when (a live answer
    needs the session open; a second reply comes after it), and names the answering unit.
    ``given_at``: when an answer recorded later (补录) was given; the question counts as
    answered from then.
    For an answer a text editor typed, ``guest`` (name, title) names who gave it; `actor`
    stays its author.
    """
    now = now or utcnow()
    text = answer_text(body)
    if question.status == QuestionStatus.REJECTED:
        raise QuestionRefused(_("A rejected question cannot be answered."), "bad_transition")
    claims.require_reviewed(question, actor)
    claims.require_free(question, actor, take_over, now)
    was_public = serialize.is_public(question)
    if question.status == QuestionStatus.PENDING:
        set_question_status(question, QuestionStatus.APPROVED, now)
    reply = Answer(question_id=question.id, author_id=actor.id, department_id=department_id,
                   kind=kind, body=text, created_at=now, given_at=given_at)
    if guest is not None:
        reply.guest_name, reply.guest_title = guest
    db.session.add(reply)
    if question.status == QuestionStatus.APPROVED:
        set_question_status(question, QuestionStatus.ANSWERED, given_at or now)
    claims.clear(question)
    db.session.flush()
    db.session.refresh(question, ["answers"])
    announce(question, was_public, now)
    return reply


def edit_answer(reply: Answer, actor: User, body: str) -> Answer:
    """Reword an answer; the earlier wording is kept as a revision.

    While a reviewed session is open, only a reviewer rewords what was published.
    """
    text = answer_text(body)
    if text == reply.body:
        return reply
    session = reply.question.session
    if (session.reviewed and session.state in (SessionState.LIVE, SessionState.ANNOUNCED)
            and not access.can_review(actor, session)):
        raise QuestionRefused(_("This session is reviewed: only a reviewer may change a "
                                "published answer."), "review_required")
    reply.revisions.append(AnswerRevision(body=reply.body, edited_by_id=actor.id))
    reply.body = text
    reply.updated_at = utcnow()
    db.session.flush()
    announce(reply.question, serialize.is_public(reply.question))
    return reply
