"""The studio's console commands: the review queue and the director's projector choice.

Each is a /moderation socket event and a POST /api/v1/staff/sessions/<id>/actions/<name>, like
every command of commands.py; the operations they call (review.py, screen.py) write their audit
entries, or commands.run does.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from qa_live.auth.models import User
from qa_live.live import access, review, screen
from qa_live.live.commands import command, question_in
from qa_live.live.review_models import ReviewItem
from qa_live.live.socket_common import EventError, int_field, str_field
from qa_live.planning.models import LiveSession


def _item(session: LiveSession, data: dict[str, Any]) -> ReviewItem:
    item_id = int_field(data, "item_id")
    assert item_id is not None  # required: int_field refuses a missing one
    return review.get_item(session, item_id)


@command("submit_review", audited_by_operation=True)
def submit_review(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Send an item for review in a reviewed session: {"kind": "answer", "question_id",
    "body", "guest_id"?} or {"kind": "post", "body", "post_kind"?, "pinned"?}."""
    item = review.submit(session, user, data.get("kind"), data)
    return {"item": review.item_json(item)}


@command("review_approve", audited_by_operation=True)
def review_approve(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Approve an item awaiting review (with "body": edited first); it is published now."""
    item = _item(session, data)
    body = str_field(data, "body", 20000) if data.get("body") is not None else None
    review.approve(item, user, body)
    return {"item": review.item_json(item)}


@command("review_return", audited_by_operation=True)
def review_return(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Send an item awaiting review back to its author with a reason."""
    item = _item(session, data)
    review.send_back(item, user, str_field(data, "reason", review.REASON_MAX * 2))
    return {"item": review.item_json(item)}


@command("review_resubmit", audited_by_operation=True)
def review_resubmit(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Send an item that came back for review again, changed (its author)."""
    item = _item(session, data)
    review.resubmit(item, user, str_field(data, "body", 20000))
    return {"item": review.item_json(item)}


def require_director(user: User, session: LiveSession) -> None:
    """Refuse unless the user may choose what the projector shows."""
    if not access.can_direct(user, session):
        raise EventError("forbidden", _("Only the director, the host or the office may choose "
                                        "what the projector shows."))


@command("screen")
def choose_screen(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Choose what the projector shows: {"kind": "latest"|"question"|"qr"|"post"|"photo"|
    "poll", "id"?}."""
    require_director(user, session)
    kind, ref = screen.parse(data)
    screen.choose(session, kind, ref)
    return screen.current(session)


@command("highlight")
def highlight(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Show a question on the projector as being answered now (question_id null: the latest
    answer again); the shorthand of `screen` with the kind "question"."""
    require_director(user, session)
    if data.get("question_id") is None:
        screen.choose(session, screen.LATEST, None)
    else:
        screen.choose(session, "question", question_in(data, session).id)
    return {"question_id": session.highlighted_question_id}
