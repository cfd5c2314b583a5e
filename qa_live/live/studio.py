"""The studio's answers and posts: a guest's answer typed by a text editor, and the two kinds of
the review queue this package registers (answers and host posts).

A text editor (文字编辑) on duty types what a guest (嘉宾, named on the session's plan) says and
publishes it in the guest's name: the public answer shows the guest's name and title, the
record keeps the editor as its author. Who may answer in whose name is decided here, once, for
the `answer` command and for answers sent for review alike.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from qa_live.auth.models import User
from qa_live.extensions import db
from qa_live.live import access, answers, claims, moderation, review
from qa_live.live.models import PostKind, Question, QuestionStatus
from qa_live.live.review_models import ReviewItem
from qa_live.live.services import QuestionRefused
from qa_live.planning.models import LiveSession

Guest = tuple[str, str]


def guest_of(session: LiveSession, guest_id: object) -> Guest | None:
    """The (name, title) of one of the session's guests by id; None when no id is given."""
    if guest_id is None:
        return None
    if isinstance(guest_id, bool) or not isinstance(guest_id, int):
        raise QuestionRefused(_("A guest is named by their id (a whole number)."), "invalid")
    for guest in session.guests:
        if guest.id == guest_id:
            return guest.name, guest.title
    raise QuestionRefused(_("That person is not a guest of this session."), "not_found")


def check_answerer(user: User, question: Question, guest: Guest | None) -> None:
    """In a guest's name: text editors on duty, hosts and the office. In one's own: the
    department rule. A text editor answers only in a guest's name."""
    session = question.session
    if guest is not None:
        if not access.can_type_for_guests(user, session):
            raise QuestionRefused(_("Only a text editor on duty, the host or the office may "
                                    "publish in a guest's name."), "forbidden")
        return
    if access.answers_as_self(user, question):
        return
    if access.can_answer(user, question):  # a text editor: on duty, but for the guests
        raise QuestionRefused(_("A text editor publishes in a guest's name: choose the guest."),
                              "forbidden")
    raise QuestionRefused(_("This question belongs to another department."), "forbidden")


def question_of(session: LiveSession, question_id: object) -> Question:
    """A question of this session by id, or not_found."""
    if isinstance(question_id, bool) or not isinstance(question_id, int):
        raise QuestionRefused(_("A valid question_id is required."), "invalid")
    question = db.session.get(Question, question_id)
    if question is None or question.session_id != session.id:
        raise QuestionRefused(_("There is no such question in this session."), "not_found")
    return question


# The review queue's kinds -----------------------------------------------------------------------


def _submit_answer(user: User, session: LiveSession, data: dict[str, Any]) -> review.Submission:
    question = question_of(session, data.get("question_id"))
    guest = guest_of(session, data.get("guest_id"))
    check_answerer(user, question, guest)
    if question.status == QuestionStatus.REJECTED:
        raise QuestionRefused(_("A rejected question cannot be answered."), "bad_transition")
    claims.require_reviewed(question, user)  # as publishing it would: refused now, not later
    body = answers.answer_text(data.get("body"))
    return review.Submission(body=body, question=question, fields={
        "guest": {"name": guest[0], "title": guest[1]} if guest else None})


def _publish_answer(item: ReviewItem, author: User) -> int:
    question = db.session.get(Question, item.question_id)
    if question is None:
        raise QuestionRefused(_("The question is gone."), "not_found")
    guest = item.fields.get("guest")
    reply = moderation.publish_live_answer(
        question, author, item.body,
        guest=(guest["name"], guest["title"]) if isinstance(guest, dict) else None)
    return reply.id


def _submit_post(user: User, session: LiveSession, data: dict[str, Any]) -> review.Submission:
    if not access.can_moderate(user, session):
        raise QuestionRefused(_("Only the host or the office may do this."), "forbidden")
    kind = data.get("post_kind", PostKind.POLICY.value)
    if not isinstance(kind, str) or kind not in {k.value for k in PostKind}:
        raise QuestionRefused(_("Unknown kind of post."), "invalid")
    pinned = data.get("pinned", False)
    if not isinstance(pinned, bool):
        raise QuestionRefused(_("pinned must be true or false."), "invalid")
    return review.Submission(body=moderation.post_body(data.get("body")),
                             fields={"post_kind": kind, "pinned": pinned})


def _publish_post(item: ReviewItem, author: User) -> int:
    session = db.session.get(LiveSession, item.session_id)
    assert session is not None
    fields = item.fields
    post = moderation.publish_post(session, author, PostKind(fields.get("post_kind", "policy")),
                                   item.body, bool(fields.get("pinned")))
    return post.id


review.register_kind(review.ReviewKind(
    name="answer", label=lambda: str(_l("Answer")), submit=_submit_answer,
    clean=answers.answer_text, publish=_publish_answer))
review.register_kind(review.ReviewKind(
    name="post", label=lambda: str(_l("Host post")), submit=_submit_post,
    clean=moderation.post_body, publish=_publish_post))
