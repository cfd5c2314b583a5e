"""Claims and who may answer: one rule for the console, the socket, the API and second replies.

moderation.claim and moderation.release keep a claim; answers.publish_answer (live answers and
the second replies of follow-ups) obeys it. The rules (docs/realtime.md, "Claims and who may
answer"):

- A claim (``claimed_by_id`` until ``claim_expires_at``, CLAIM_MINUTES after it was taken or
  renewed) means its holder is writing the answer. Until it is answered, released or runs out,
  nobody else answers, claims or releases the question.
- A host or the office may take it over, but only by saying so (``take_over``): the question
  keeps who took it over from whom (ClaimTakeover, shown in the console) and the audit log has
  a ``claim_take_over`` entry. Answerers cannot take over.
- A claim counts only while its holder may still answer the question: an account deactivated,
  stripped of its role or moved out of the question's department holds nothing (its claims are
  released at that moment too: release_lost_claims).
- Answerers answer published questions only. A pending question (waiting for review, or held by
  the sensitive-word screening in any moderation mode) goes public only by a moderator's act:
  approving it, or answering it as host or office.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from qa_live.audit import services as audit
from qa_live.auth.models import User
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import access, events, serialize
from qa_live.live.models import ClaimTakeover, Question, QuestionStatus
from qa_live.live.services import QuestionRefused


def holder(question: Question, now: datetime | None = None) -> User | None:
    """Who holds a claim on the question now: a live claim of someone who may still answer it."""
    now = now or utcnow()
    if (question.claimed_by_id is None or question.claim_expires_at is None
            or question.claim_expires_at <= now):
        return None
    user = db.session.get(User, question.claimed_by_id)
    if user is None or not access.can_answer(user, question):
        return None
    return user


def may_publish(question: Question, actor: User) -> bool:
    """Whether answering the question is open to the actor as far as review goes: a published
    question to whoever may answer it, a pending one only to a host or the office."""
    return question.status != QuestionStatus.PENDING or access.sees_all(actor)


def require_reviewed(question: Question, actor: User) -> None:
    """Refuse an answerer's answer or claim on a question no moderator has published yet."""
    if not may_publish(question, actor):
        raise QuestionRefused(
            _("This question has not been approved yet: only the host or the office can "
              "publish it."), "forbidden")


def require_free(question: Question, actor: User, take_over: bool = False,
                 now: datetime | None = None) -> User | None:
    """Refuse to act past someone else's claim, unless a host or the office takes it over.

    Returns the colleague whose claim was taken over (None when there was none to take).
    """
    now = now or utcnow()
    current = holder(question, now)
    if current is None or current.id == actor.id:
        return None
    moderator = access.sees_all(actor)
    if not take_over:
        if moderator:
            raise QuestionRefused(
                _("%(name)s is answering this question. Take it over to answer it yourself.",
                  name=current.display_name), "claimed")
        raise QuestionRefused(_("%(name)s is answering this question.",
                                name=current.display_name), "claimed")
    if not moderator:
        raise QuestionRefused(
            _("Only the host or the office may take over a question someone else is "
              "answering."), "forbidden")
    question.takeovers.append(ClaimTakeover(from_user_id=current.id, by_user_id=actor.id,
                                            taken_at=now))
    audit.record("claim_take_over", user=actor, target_type="question", target_id=question.id,
                 session_id=question.session_id,
                 detail={"question_id": question.id, "from_user_id": current.id,
                         "from_login": current.login})
    clear(question)
    return current


def clear(question: Question) -> None:
    """End any claim on the question (answered, rejected, reassigned, released)."""
    question.claimed_by_id = None
    question.claim_expires_at = None


def release_lost_claims(user_id: int, now: datetime | None = None) -> int:
    """Release the live claims of an account that may no longer answer their questions.

    Called when a staff account loses access (core.signals.staff_access_revoked): a logout
    keeps the claims (they run out), a deactivation or a change of roles or departments that
    takes the question away from the account releases them, and consoles are told.
    """
    now = now or utcnow()
    user = db.session.get(User, user_id)
    held = db.session.scalars(select(Question).where(
        Question.claimed_by_id == user_id, Question.claim_expires_at > now)).all()
    released = 0
    for question in held:
        if user is not None and access.can_answer(user, question):
            continue
        clear(question)
        released += 1
        events.tell_staff(question.session_id, "question",
                          serialize.staff_question(question, now),
                          department_id=question.department_id)
    if released:
        db.session.flush()
    return released
