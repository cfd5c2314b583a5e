"""The question being answered now, shown large on the room's projector (/s/<slug>/screen).

A host or the office highlights a published question waiting for its answer; the choice is the
session's `highlighted_question_id`, published as a numbered public `highlight` event (so a
reconnecting projector replays it) and carried in the session info of snapshots. It is cleared
by the command, or by itself when the question is answered or leaves the public stream.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from qa_live.auth.models import User
from qa_live.extensions import db
from qa_live.live import events, serialize
from qa_live.live.commands import command, question_in, require_moderator
from qa_live.live.models import Question, QuestionStatus
from qa_live.live.services import QuestionRefused
from qa_live.planning.models import LiveSession, SessionState


def set_highlight(session: LiveSession, question: Question | None) -> None:
    """Show a question on the projector as being answered now (None: show none)."""
    if question is not None:
        if session.state != SessionState.LIVE:
            raise QuestionRefused(_("The projector shows a question only while the session "
                                    "is live."), "not_live")
        if question.status != QuestionStatus.APPROVED:
            raise QuestionRefused(_("Only a published question still waiting for its answer "
                                    "can be shown as being answered."), "bad_transition")
    new = question.id if question is not None else None
    if session.highlighted_question_id == new:
        return
    session.highlighted_question_id = new
    db.session.flush()
    events.publish(session, "highlight", {"question_id": new})
    events.tell_staff(session.id, "session", serialize.session_info(session))


def after_change(question: Question) -> None:
    """Clear the highlight when the highlighted question is answered or leaves the stream."""
    session = question.session
    if (session.highlighted_question_id == question.id
            and question.status != QuestionStatus.APPROVED):
        set_highlight(session, None)


@command("highlight")
def highlight(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Show a question on the projector as being answered now (question_id null: clear)."""
    require_moderator(user, session)
    question = question_in(data, session) if data.get("question_id") is not None else None
    set_highlight(session, question)
    return {"question_id": session.highlighted_question_id}
