"""Internal notes on questions: for staff only.

A note travels only in the staff shape of a question (serialize.staff_question, the /moderation
socket, the staff API). The public shape, the event log, the transcript, the archive and the
exports read other fields and never this table; tests/test_moderation_tools.py checks each.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from qa_live.auth.models import User
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import events, serialize
from qa_live.live.commands import answerable, command
from qa_live.live.models import Question, StaffNote
from qa_live.live.services import QuestionRefused
from qa_live.live.socket_common import str_field
from qa_live.live.validation import clean_text
from qa_live.planning.models import LiveSession

#: The longest note.
NOTE_MAX = 1000


def note_json(note: StaffNote | None) -> dict[str, Any] | None:
    """A note as consoles show it: text, when and by whom."""
    if note is None:
        return None
    author = db.session.get(User, note.updated_by_id) if note.updated_by_id else None
    return {"body": note.body, "updated_at": serialize.iso(note.updated_at),
            "updated_by": author.display_name if author else None}


def set_note(question: Question, actor: User, body: str) -> StaffNote | None:
    """Write, change or (with an empty body) remove the note on a question; tell staff."""
    text = clean_text(body)
    if len(text) > NOTE_MAX:
        raise QuestionRefused(_("A note may have at most %(n)d characters.", n=NOTE_MAX),
                              "invalid")
    now = utcnow()
    note = question.note
    if not text:
        if note is not None:
            db.session.delete(note)
            question.note = None
    elif note is None:
        note = StaffNote(question_id=question.id, body=text, updated_by_id=actor.id,
                         updated_at=now)
        question.note = note
    elif note.body != text:
        note.body, note.updated_by_id, note.updated_at = text, actor.id, now
    db.session.flush()
    events.tell_staff(question.session_id, "question", serialize.staff_question(question, now),
                      department_id=question.department_id)
    return question.note


@command("note")
def note(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Write the staff-only note on a question (an empty body removes it)."""
    question = answerable(user, session, data)
    saved = set_note(question, user, str_field(data, "body", NOTE_MAX * 2))
    return {"question_id": question.id, "note": note_json(saved)}
