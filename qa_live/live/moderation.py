"""Staff operations in a live session: moderate, claim, answer, post, start and end.

Publishing and rewording answers is in answers.py (second replies use it too).

Each function takes the acting user, checks the move is allowed by the question's or the
session's state (access is checked by the caller, at the edge), changes rows, flushes and
queues its broadcasts; the caller commits with events.commit_and_send().
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from qa_live.auth.models import User
from qa_live.core import signals
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import (
    access,
    answers,
    claims,
    events,
    polls,
    screen,
    serialize,
    summaries,
    visits,
    workers,
)
from qa_live.live.models import (
    Answer,
    AnswerKind,
    HostPost,
    PostKind,
    PostRevision,
    Question,
    QuestionRevision,
    QuestionStatus,
    RejectReason,
    Vote,
)
from qa_live.live.services import (
    QuestionRefused,
    announce,
    claim_window,
    set_question_status,
)
from qa_live.live.validation import clean_text, text_problem
from qa_live.planning import services as planning
from qa_live.planning.models import Department, LiveSession, SessionState

OPEN_STATES = (SessionState.LIVE, SessionState.ANNOUNCED)


def _require_open(question: Question) -> None:
    if question.session.state not in OPEN_STATES:
        raise QuestionRefused(_("The session is over; use follow-up to reply."), "not_live")


def require_unreviewed(session: LiveSession, actor: User | None = None) -> None:
    """In a reviewed session nothing is published without a reviewer (qa_live/live/review.py).

    With an actor, for a change to what is published already: a reviewer may make it.
    """
    if not session.reviewed or session.state not in OPEN_STATES:
        return
    if actor is not None and access.can_review(actor, session):
        return
    raise QuestionRefused(_("This session is reviewed: send it for review. It is published "
                            "once a reviewer approves it."), "review_required")


def approve(question: Question, actor: User, text: str | None = None,
            now: datetime | None = None) -> Question:
    """Publish a pending (or earlier rejected) question, optionally with edited wording."""
    _require_open(question)
    if text is not None:
        set_question_text(question, actor, text)
    was_public = serialize.is_public(question)
    set_question_status(question, QuestionStatus.APPROVED, now)
    question.reject_reason = None
    question.merged_into_id = None
    announce(question, was_public)
    return question


def reject(question: Question, actor: User, reason: RejectReason,
           now: datetime | None = None) -> Question:
    """Refuse a question; it stops being valid (有效提问) and leaves the public stream."""
    _require_open(question)
    was_public = serialize.is_public(question)
    set_question_status(question, QuestionStatus.REJECTED, now)
    question.reject_reason = reason
    claims.clear(question)  # a deliberate decision: whoever was answering stops
    announce(question, was_public)
    return question


def merge(question: Question, into: Question, actor: User) -> Question:
    """Fold a duplicate into an earlier question: the duplicate is rejected, votes move over."""
    _require_open(question)
    if into.id == question.id or into.session_id != question.session_id:
        raise QuestionRefused(_("Merge into another question of the same session."), "bad_target")
    if into.status == QuestionStatus.REJECTED:
        raise QuestionRefused(_("Cannot merge into a rejected question."), "bad_target")
    target_voters = select(Vote.visitor_id).where(Vote.question_id == into.id)
    db.session.execute(
        update(Vote)
        .where(Vote.question_id == question.id, Vote.visitor_id.not_in(target_voters))
        .values(question_id=into.id)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(delete(Vote).where(Vote.question_id == question.id))
    count = db.session.scalar(select(db.func.count()).where(Vote.question_id == into.id)) or 0
    into.upvotes = count
    question.upvotes = 0
    question.merged_into_id = into.id  # before reject() announces it: consoles show the target
    reject(question, actor, RejectReason.DUPLICATE)
    was_public = serialize.is_public(into)
    db.session.flush()
    announce(into, was_public)
    return question


def edit_question(question: Question, actor: User, text: str) -> Question:
    """Change the published wording; the citizen's original stays as written."""
    _require_open(question)
    set_question_text(question, actor, text)
    announce(question, serialize.is_public(question))
    return question


def set_question_text(question: Question, actor: User | None, text: str) -> bool:
    """Check and set the published wording, keeping the earlier one as a revision.

    Returns whether the wording changed. The citizen's original_text is never touched.
    """
    text = clean_text(text)
    problem = text_problem(text)
    if problem:
        raise QuestionRefused(problem, "invalid")
    if text == question.text:
        return False
    db.session.add(QuestionRevision(question_id=question.id, text=question.text,
                                    edited_by_id=actor.id if actor else None,
                                    edited_at=utcnow()))
    question.text = text
    db.session.flush()
    return True


def pin(question: Question, actor: User, pinned: bool) -> Question:
    """Pin a question to the top of the public stream (or unpin it)."""
    question.pinned = pinned
    db.session.flush()
    announce(question, serialize.is_public(question))
    return question


def assign(question: Question, actor: User, department: Department | None) -> Question:
    """Hand a question to one of the session's departments."""
    if department is not None and department not in question.session.departments:
        raise QuestionRefused(_("That department is not online in this session."), "bad_target")
    old = question.department_id
    question.department_id = department.id if department else None
    claims.clear(question)  # the new department's staff answer it
    db.session.flush()
    if old != question.department_id:  # the old department's room loses it
        events.tell_staff(question.session_id, "question.moved",
                          {"id": question.id, "department_id": question.department_id},
                          department_id=old)
    announce(question, serialize.is_public(question))
    return question


def claim(question: Question, actor: User, now: datetime | None = None, *,
          take_over: bool = False) -> Question:
    """Take a question to answer; others see who holds it until the claim expires.

    The holder renews it by claiming again. The rules are claims.py's: answerers claim
    published questions only, and someone else's live claim is refused unless a host or the
    office takes it over (take_over), which the question and the audit log keep.
    """
    now = now or utcnow()
    _require_open(question)
    if question.status not in (QuestionStatus.PENDING, QuestionStatus.APPROVED):
        raise QuestionRefused(_("This question does not need an answer now."), "bad_transition")
    claims.require_reviewed(question, actor)
    claims.require_free(question, actor, take_over, now)
    question.claimed_by_id = actor.id
    question.claim_expires_at = now + claim_window()
    db.session.flush()
    events.tell_staff(question.session_id, "question", serialize.staff_question(question, now),
                      department_id=question.department_id)
    return question


def release(question: Question, actor: User, now: datetime | None = None) -> Question:
    """Give back a question one holds; another's claim is `forbidden`, none `bad_transition`."""
    now = now or utcnow()
    if question.claimed_by_id != actor.id:
        current = claims.holder(question, now)
        if current is not None:
            raise QuestionRefused(
                _("%(name)s is answering this question: only they can release it.",
                  name=current.display_name), "forbidden")
        raise QuestionRefused(_("Nobody is answering this question: there is no claim to "
                                "release."), "bad_transition")
    claims.clear(question)  # one's own claim, even one that has just run out
    db.session.flush()
    events.tell_staff(question.session_id, "question", serialize.staff_question(question, now),
                      department_id=question.department_id)
    return question


def answer(question: Question, actor: User, body: str, now: datetime | None = None,
           guest: tuple[str, str] | None = None, *, take_over: bool = False) -> Answer:
    """Publish a live answer while the session is open (answers.publish_answer).

    A guest (name, title) names who gave it when a text editor typed it; ``take_over``: past a
    colleague's claim, as host or office (claims.py). In a reviewed session it is refused: the
    answer goes to review (review.py) and is published from there.
    """
    _require_open(question)
    require_unreviewed(question.session)
    return publish_live_answer(question, actor, body, now, guest, take_over=take_over)


def publish_live_answer(question: Question, actor: User, body: str,
                        now: datetime | None = None,
                        guest: tuple[str, str] | None = None, *,
                        take_over: bool = False) -> Answer:
    """Publish a live answer, its review done or not required, under its answering unit."""
    _require_open(question)
    return answers.publish_answer(question, actor, body, kind=AnswerKind.LIVE,
                                  department_id=answering_unit(question, actor, guest),
                                  guest=guest, take_over=take_over, now=now)


def answering_unit(question: Question, actor: User,
                   guest: tuple[str, str] | None = None) -> int | None:
    """The department an answer is given for: the question's, else the answerer's online; a
    guest's answer (typed by an editor of no department) the session's only one."""
    if question.department_id is not None:
        return question.department_id
    session_depts = [d.id for d in question.session.departments]
    mine = [d.id for d in actor.departments if d.id in session_depts]
    if mine:
        return mine[0]
    return session_depts[0] if guest is not None and len(session_depts) == 1 else None


def flag_follow_up(question: Question, actor: User, needed: bool) -> Question:
    """Mark a question as needing offline follow-up (线下落实) and a second reply."""
    if question.status == QuestionStatus.REJECTED:
        raise QuestionRefused(_("A rejected question needs no follow-up."), "bad_transition")
    question.needs_follow_up = needed
    db.session.flush()
    if needed and question.session.state not in OPEN_STATES:
        # Flags set while open are gathered at the end; after the end, followup makes it now.
        signals.follow_up_needed.send(question, actor=actor)
    announce(question, serialize.is_public(question))
    return question


def post_body(body: object) -> str:
    """A post's text, cleaned; refused when empty or longer than POST_MAX_LENGTH."""
    text = clean_text(body)
    if not text:
        raise QuestionRefused(_("Write the post first."), "invalid")
    limit = current_app.config["POST_MAX_LENGTH"]
    if len(text) > limit:
        raise QuestionRefused(_("A post may have at most %(n)d characters.", n=limit),
                              "invalid")
    return text


def create_post(session: LiveSession, actor: User, kind: PostKind, body: str,
                pinned: bool = False) -> HostPost:
    """Publish a policy explanation or notice in the session (refused if it is reviewed)."""
    require_unreviewed(session)
    return publish_post(session, actor, kind, body, pinned)


def publish_post(session: LiveSession, actor: User, kind: PostKind, body: str,
                 pinned: bool = False) -> HostPost:
    """Publish a host post, its review done or not required."""
    if session.state not in OPEN_STATES:
        raise QuestionRefused(_("The session is over."), "not_live")
    item = HostPost(session_id=session.id, author_id=actor.id, kind=kind,
                    body=post_body(body), pinned=pinned, created_at=utcnow())
    db.session.add(item)
    db.session.flush()
    events.publish(session, "post", serialize.post(item))
    events.tell_staff(session.id, "post", serialize.post(item))
    return item


def set_post_body(item: HostPost, actor: User | None, body: str) -> bool:
    """Check and set a post's wording, keeping the earlier one as a revision; say if it changed."""
    text = post_body(body)
    if text == item.body:
        return False
    now = utcnow()
    db.session.add(PostRevision(post_id=item.id, body=item.body,
                                edited_by_id=actor.id if actor else None, edited_at=now))
    item.body = text
    item.updated_at = now
    return True


def update_post(item: HostPost, session: LiveSession, actor: User, body: str | None = None,
                pinned: bool | None = None, removed: bool = False) -> HostPost:
    """Edit, pin or remove a host post (in a reviewed session only a reviewer rewords it)."""
    if body is not None:
        if body != item.body:
            require_unreviewed(session, actor)
        set_post_body(item, actor, body)
    if pinned is not None:
        item.pinned = pinned
    if removed:
        item.removed = True
    db.session.flush()
    if item.removed:
        events.publish(session, "post.removed", {"id": item.id})
        events.tell_staff(session.id, "post.removed", {"id": item.id})
        screen.withdraw(session, "post", item.id)
    else:
        events.publish(session, "post", serialize.post(item))
        events.tell_staff(session.id, "post", serialize.post(item))
    return item


def start_session(session: LiveSession, actor: User, now: datetime | None = None) -> LiveSession:
    """Take the session live (announced → live)."""
    try:
        planning.change_state(session, SessionState.LIVE, now)
    except planning.PlanningError as exc:
        raise QuestionRefused(str(exc), "bad_transition") from exc
    events.publish(session, "session", serialize.session_info(session))
    events.tell_staff(session.id, "session", serialize.session_info(session))
    return session


def end_session(session: LiveSession, actor: User, now: datetime | None = None) -> LiveSession:
    """End the session (live → ended): the page turns read-only, open visits close."""
    now = now or utcnow()
    workers.lock_sessions({session.id})  # before the session's row: as the visit batches do
    try:
        planning.change_state(session, SessionState.ENDED, now)
    except planning.PlanningError as exc:
        raise QuestionRefused(str(exc), "bad_transition") from exc
    visits.close_all_visits(session, now)
    polls.close_open_polls(session, actor, now)
    events.after_commit(lambda: summaries.mark_counts(session.id))
    db.session.execute(
        update(Question).where(Question.session_id == session.id)
        .values(claimed_by_id=None, claim_expires_at=None)
    )
    # followup opens the unanswered and flagged questions' follow-ups (docs/followups.md).
    signals.session_ended.send(session, actor=actor)
    events.publish(session, "session", serialize.session_info(session))
    events.tell_staff(session.id, "session", serialize.session_info(session))
    return session
