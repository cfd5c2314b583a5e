"""The `similar` staff lookup: answered questions close to one being answered.

A read-only command (no audit entry): the console asks when an answer form opens. The lookup
itself lives with the archive (qa_live/transcript/similar.py), above this layer, so it is
imported when called, as follow-ups are.
"""

from __future__ import annotations

from typing import Any

from qa_live.auth.models import User
from qa_live.live.commands import _answerable, command
from qa_live.planning.models import LiveSession


@command("similar", own_audit=True)
def similar(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Up to 5 answered questions (this session and the archive) close to a question."""
    from qa_live.transcript.similar import similar_answered

    question = _answerable(user, session, data)
    return {"question_id": question.id,
            "similar": [hit.as_dict() for hit in similar_answered(question)]}
