"""What followup does when a lower package sends a signal (qa_live/core/signals.py).

create_app() calls connect() once; connecting again changes nothing. The receivers run inside
the sender's transaction: the follow-ups commit (or roll back) with the session's end.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from qa_live.auth.models import User
from qa_live.core import signals
from qa_live.followup import automatic
from qa_live.live.models import Question
from qa_live.planning.models import LiveSession


def _session_ended(session: LiveSession, *, actor: User | None = None, **_kw: Any) -> None:
    """Unanswered and flagged questions get offline follow-up (docs/followups.md)."""
    if current_app.config["FOLLOW_UP_AUTO"]:
        automatic.create_session_follow_ups(session, actor)


def _follow_up_needed(question: Question, *, actor: User | None = None, **_kw: Any) -> None:
    """A question flagged after its session ended gets its follow-up now."""
    automatic.ensure_follow_up(question, actor)


def connect() -> None:
    """Connect followup's receivers."""
    signals.session_ended.connect(_session_ended)
    signals.follow_up_needed.connect(_follow_up_needed)
