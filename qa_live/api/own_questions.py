"""/api/v1: the asker changes or withdraws their own question while it waits for review.

The same operations as the /qa socket's ``edit`` and ``withdraw`` events and the pages' forms
(qa_live/live/own_questions.py); registered on the API blueprint, so its authentication, JSON
checks and error shapes apply.
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from qa_live.api.common import bp, json_body, visitor
from qa_live.extensions import db
from qa_live.live import events, own_questions, serialize
from qa_live.live import services as live
from qa_live.live.models import Question
from qa_live.live.snapshots import get_live_session_or_error


def _own(slug: str, question_id: int) -> Question:
    session = get_live_session_or_error(slug)
    return own_questions.check_owner(db.session.get(Question, question_id), visitor(),
                                     session.id)


@bp.patch("/sessions/<slug>/questions/<int:question_id>")
def edit_question(slug: str, question_id: int) -> ResponseReturnValue:
    """Change the wording of one's own pending question: {"text"}."""
    question = _own(slug, question_id)
    own_questions.edit_own_question(question, json_body().get("text"))
    body = serialize.own_question(question, live.status_label(question))
    events.commit_and_send()
    return jsonify(question=body)


@bp.delete("/sessions/<slug>/questions/<int:question_id>")
def withdraw_question(slug: str, question_id: int) -> ResponseReturnValue:
    """Withdraw one's own pending question; it is gone from every list and figure."""
    question_id = own_questions.withdraw_own_question(_own(slug, question_id))
    events.commit_and_send()
    return jsonify(id=question_id, withdrawn=True)
