"""Clearing a citizen's nickname: the question stays, the name becomes 网友 ("Citizen").

Nicknames are screened like question text (sensitive.screen_question): a hit holds the question
for review. A moderator who finds the question fine but the name not can clear the name instead
of rejecting the question; citizens then see the default 网友, and the question keeps its
place, its status and its votes.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from qa_live.audit import services as audit
from qa_live.auth.models import User
from qa_live.extensions import db
from qa_live.live import serialize
from qa_live.live.commands import command, question_in, require_moderator
from qa_live.live.models import Question
from qa_live.live.services import QuestionRefused, announce
from qa_live.planning.models import LiveSession


def clear_nickname(question: Question, actor: User) -> str:
    """Remove the nickname (and its hits), publish the change and audit it; return the old one."""
    old = question.nickname
    if not old:
        raise QuestionRefused(_("This question has no nickname to clear."), "bad_transition")
    was_public = serialize.is_public(question)
    question.nickname = ""
    question.nickname_hits = ""
    db.session.flush()
    announce(question, was_public)
    audit.record("clear_nickname", user=actor, target_type="question", target_id=question.id,
                 session_id=question.session_id, detail={"nickname": old})
    return old


@command("clear_nickname", audited_by_operation=True)
def clear_nickname_command(user: User, session: LiveSession,
                           data: dict[str, Any]) -> dict[str, Any]:
    """Clear a question's nickname (shown as 网友 / Citizen) without rejecting the question."""
    require_moderator(user, session)
    question = question_in(data, session)
    clear_nickname(question, user)
    return {"question_id": question.id}
