"""The review queue (审核) of a reviewed session: items of any kind awaiting a reviewer.

In a session set to "reviewed" (LiveSession.reviewed, planned with the session), an answer or
a host post is not published when its author sends it: it becomes a pending ReviewItem, which
staff consoles list. A reviewer (on duty, or the office; never the item's own author) approves
it, as written or edited, and its kind publishes it; or sends it back with a reason, and the
author, who sees the state in the console, changes it and sends it again. Publishing directly
in a reviewed session is refused (moderation.require_unreviewed).

The queue is generic over kinds. A kind registers with `register_kind(ReviewKind(...))`:
`submit` reads and checks the payload and the author's right to send it (returning a
Submission), `clean` checks a changed text, `publish` publishes the approved item and returns
the id of what it made. qa_live/live/studio.py registers "answer" and "post"; other modules
(photos) register theirs the same way. Operations flush and queue their events; the caller
commits with events.commit_and_send().
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update

from qa_live.audit import services as audit
from qa_live.auth.models import User
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import access, events, serialize
from qa_live.live.models import Question
from qa_live.live.review_models import ReviewItem, ReviewState
from qa_live.live.services import QuestionRefused
from qa_live.planning.models import LiveSession, SessionState

REASON_MAX = 200
OPEN_STATES = (SessionState.LIVE, SessionState.ANNOUNCED)


@dataclass
class Submission:
    """What a kind read from a payload: the text to review and its own fields."""

    body: str
    fields: dict[str, Any] = field(default_factory=dict)
    question: Question | None = None
    target_id: int | None = None


@dataclass(frozen=True)
class ReviewKind:
    """A kind of item that waits for review, and how it is checked and published."""

    name: str
    label: Callable[[], str]
    submit: Callable[[User, LiveSession, dict[str, Any]], Submission]
    clean: Callable[[object], str]
    publish: Callable[[ReviewItem, User], int]


KINDS: dict[str, ReviewKind] = {}


def register_kind(kind: ReviewKind) -> ReviewKind:
    """Add a kind to the queue (once per process; registering again replaces it)."""
    KINDS[kind.name] = kind
    return kind


def _kind(name: object) -> ReviewKind:
    kind = KINDS.get(name) if isinstance(name, str) else None
    if kind is None:
        raise QuestionRefused(_("Unknown kind of item to review. Choose one of: %(kinds)s.",
                                kinds=", ".join(KINDS)), "invalid")
    return kind


def _require_open(session: LiveSession) -> None:
    if session.state not in OPEN_STATES:
        raise QuestionRefused(_("The session is over."), "not_live")


def submit(session: LiveSession, author: User, kind_name: object,
           data: dict[str, Any]) -> ReviewItem:
    """Send an item for review in a reviewed session; nothing of it is public yet."""
    if not session.reviewed:
        raise QuestionRefused(_("This session is not reviewed: publish it directly."),
                              "not_reviewed")
    _require_open(session)
    kind = _kind(kind_name)
    sent = kind.submit(author, session, data)
    item = ReviewItem(session_id=session.id, kind=kind.name, author_id=author.id,
                      question_id=sent.question.id if sent.question else None,
                      target_id=sent.target_id, body=sent.body, original_body=sent.body,
                      data=json.dumps(sent.fields, ensure_ascii=False), reason="",
                      state=ReviewState.PENDING, submitted_at=utcnow())
    db.session.add(item)
    db.session.flush()
    _record("review_submit", author, item)
    _tell(item)
    return item


def get_item(session: LiveSession, item_id: int) -> ReviewItem:
    """An item of this session's queue, or not_found."""
    item = db.session.get(ReviewItem, item_id)
    if item is None or item.session_id != session.id:
        raise QuestionRefused(_("There is no such item awaiting review in this session."),
                              "not_found")
    return item


def _decide(item: ReviewItem, reviewer: User) -> tuple[LiveSession, ReviewKind]:
    session = db.session.get(LiveSession, item.session_id)
    assert session is not None  # the item's row cascades with its session's
    if not access.can_review(reviewer, session):
        raise QuestionRefused(_("Only a reviewer on duty or the office may review."),
                              "forbidden")
    if item.author_id == reviewer.id:
        raise QuestionRefused(_("Someone else must review what you wrote."), "forbidden")
    if item.state != ReviewState.PENDING:
        raise QuestionRefused(_("This item is not waiting for review."), "bad_transition")
    _require_open(session)
    return session, _kind(item.kind)


def _take(item: ReviewItem, state: ReviewState, reviewer: User, now: datetime) -> None:
    """Decide a pending item once. Several reviewers work at the same time, each request in its
    own transaction: the decision is a conditional UPDATE (still pending?), so of two at the
    same moment the database lets one through and the other finds the item decided."""
    result = db.session.execute(
        update(ReviewItem)
        .where(ReviewItem.id == item.id, ReviewItem.state == ReviewState.PENDING)
        .values(state=state, reviewer_id=reviewer.id, decided_at=now)
        .execution_options(synchronize_session=False))
    if not getattr(result, "rowcount", 0):
        raise QuestionRefused(_("This item is not waiting for review."), "bad_transition")
    item.state, item.reviewer_id, item.decided_at = state, reviewer.id, now


def approve(item: ReviewItem, reviewer: User, body: object = None,
            now: datetime | None = None) -> ReviewItem:
    """Approve an item (with the reviewer's wording, if given): its kind publishes it now."""
    _session, kind = _decide(item, reviewer)
    text = kind.clean(body) if body is not None else None
    _take(item, ReviewState.APPROVED, reviewer, now or utcnow())
    if text is not None:
        item.body = text
    author = db.session.get(User, item.author_id) if item.author_id else None
    item.target_id = kind.publish(item, author or reviewer)
    db.session.flush()
    _record("review_approve", reviewer, item, edited=item.body != item.original_body)
    _tell(item)
    return item


def send_back(item: ReviewItem, reviewer: User, reason: object,
              now: datetime | None = None) -> ReviewItem:
    """Send an item back to its author with the reason; nothing is published."""
    _decide(item, reviewer)
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise QuestionRefused(_("Say why it is sent back."), "invalid")
    if len(text) > REASON_MAX:
        raise QuestionRefused(_("A reason may have at most %(n)d characters.", n=REASON_MAX),
                              "invalid")
    _take(item, ReviewState.RETURNED, reviewer, now or utcnow())
    item.reason = text
    db.session.flush()
    _record("review_return", reviewer, item, reason=text)
    _tell(item)
    return item


def resubmit(item: ReviewItem, author: User, body: object) -> ReviewItem:
    """The author sends an item that came back again, changed."""
    if item.author_id != author.id:
        raise QuestionRefused(_("Only its author may send it again."), "forbidden")
    if item.state != ReviewState.RETURNED:
        raise QuestionRefused(_("Only an item sent back can be sent again."), "bad_transition")
    session = db.session.get(LiveSession, item.session_id)
    assert session is not None
    _require_open(session)
    item.body = item.original_body = _kind(item.kind).clean(body)
    item.state = ReviewState.PENDING
    item.submitted_at = utcnow()
    item.reviewer_id = None
    item.decided_at = None
    db.session.flush()
    _record("review_resubmit", author, item)
    _tell(item)
    return item


def _record(action: str, user: User, item: ReviewItem, **detail: Any) -> None:
    audit.record(action, user=user, target_type="review_item", target_id=item.id,
                 session_id=item.session_id,
                 detail={"kind": item.kind, "question_id": item.question_id, **detail})


def _tell(item: ReviewItem) -> None:
    events.tell_staff(item.session_id, "review", item_json(item))


def item_json(item: ReviewItem) -> dict[str, Any]:
    """An item as staff consoles show it (never sent to citizens)."""
    kind = KINDS.get(item.kind)
    return {
        "id": item.id, "kind": item.kind, "kind_label": kind.label() if kind else item.kind,
        "state": item.state.value, "session_id": item.session_id,
        "question_id": item.question_id, "target_id": item.target_id,
        "author_id": item.author_id, "author_name": _name(item.author_id),
        "body": item.body, "original_body": item.original_body,
        "edited": item.body != item.original_body, "fields": item.fields,
        "reason": item.reason, "reviewer_id": item.reviewer_id,
        "reviewer_name": _name(item.reviewer_id),
        "submitted_at": serialize.iso(item.submitted_at),
        "decided_at": serialize.iso(item.decided_at),
    }


def _name(user_id: int | None) -> str | None:
    user = db.session.get(User, user_id) if user_id else None
    return user.display_name if user else None


def open_items(session: LiveSession) -> list[dict[str, Any]]:
    """What the console lists: items waiting for review and items sent back, oldest first."""
    rows = db.session.scalars(
        select(ReviewItem).where(ReviewItem.session_id == session.id,
                                 ReviewItem.state != ReviewState.APPROVED)
        .order_by(ReviewItem.submitted_at, ReviewItem.id))
    return [item_json(item) for item in rows]
