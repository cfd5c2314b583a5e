"""The console command of follow-ups, registered in live's command registry (socket and API)."""

from __future__ import annotations

from typing import Any

from qa_live.auth.models import User
from qa_live.followup import api as followup_api
from qa_live.followup.services import FollowUpError
from qa_live.live.commands import answerable, command
from qa_live.live.socket_common import EventError
from qa_live.planning.models import LiveSession


@command("follow_up_create", audited_by_operation=True)
def follow_up_create(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Open an offline follow-up on a question now, during or after the session."""
    question = answerable(user, session, data)
    try:
        follow_up = followup_api.create(user, {**data, "question_id": question.id})
    except FollowUpError as exc:  # with the field named, like other invalid payloads
        raise EventError(exc.code, str(exc), {exc.field: str(exc)} if exc.field else None) \
            from exc
    return {"question_id": question.id, "follow_up_id": follow_up.id,
            "due_date": follow_up.due_date.isoformat()}
