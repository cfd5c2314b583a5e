"""Staff commands in a live session, shared by the /moderation socket and the JSON API.

Each command takes the acting user, the session and the JSON payload, checks the payload and
the user's right to act, calls one operation and returns the fields of a successful reply. The
caller commits with events.commit_and_send(). Higher packages add their own commands with
``@command`` (followup/commands.py); create_app() imports them before the sockets are set up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import lazyload

from qa_live.audit import services as audit
from qa_live.auth.models import User
from qa_live.extensions import db
from qa_live.live import access, answers, moderation, serialize, studio
from qa_live.live.models import Answer, HostPost, PostKind, Question, RejectReason
from qa_live.live.socket_common import EventError, bool_field, int_field, str_field
from qa_live.planning.models import Department, LiveSession

Command = Callable[[User, LiveSession, dict[str, Any]], dict[str, Any]]
COMMANDS: dict[str, Command] = {}
#: Commands whose operation writes its own audit entry (run() writes none for them).
AUDITED_BY_OPERATION: set[str] = set()


def command(name: str, audited_by_operation: bool = False) -> Callable[[Command], Command]:
    """Register a staff command under its event/endpoint name."""

    def register(fn: Command) -> Command:
        COMMANDS[name] = fn
        if audited_by_operation:
            AUDITED_BY_OPERATION.add(name)
        return fn

    return register


def run(name: str, user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Run a staff command by name (unknown names are an error, not a crash)."""
    fn = COMMANDS.get(name)
    if fn is None:
        raise EventError("not_found", _("Unknown action."))
    if not access.can_open_console(user, session):
        raise EventError("forbidden", _("You do not have permission to do this."))
    result = fn(user, session, data)
    if name in AUDITED_BY_OPERATION:
        return result
    # Recorded in the command's own transaction: no entry for what did not happen.
    audit.record(name, user=user, target_type="question" if "question_id" in data else "session",
                 target_id=data.get("question_id") if isinstance(data.get("question_id"), int)
                 else None, session_id=session.id, detail=audit.command_detail(data))
    return result


def require_moderator(user: User, session: LiveSession) -> None:
    """Refuse unless the user may moderate the session (hosts and the office)."""
    if not access.can_moderate(user, session):
        raise EventError("forbidden", _("Only the host or the office may do this."))


#: The command has the session already (no join to load it again, with its collections) and
#: an answer reloads the answers after its flush: both load when read, not with the question.
_QUESTION_ONLY = (lazyload(Question.session), lazyload(Question.answers))


def question_in(data: dict[str, Any], session: LiveSession,
                name: str = "question_id") -> Question:
    """The question named by the payload's `name` field, which must be in this session."""
    question = db.session.get(Question, int_field(data, name), options=_QUESTION_ONLY)
    if question is None or question.session_id != session.id:
        raise EventError("not_found", _("There is no such question in this session."))
    return question


def answerable(user: User, session: LiveSession, data: dict[str, Any]) -> Question:
    """The payload's question, if the user may answer it (access.can_answer); else an error."""
    question = question_in(data, session)
    if not access.can_answer(user, question):
        raise EventError("forbidden", _("This question belongs to another department."))
    return question


def _long_text(data: dict[str, Any], name: str, config_key: str) -> str:
    # Twice the limit here; the operation gives the exact message at the exact limit.
    return str_field(data, name, current_app.config[config_key] * 2)


@command("approve")
def approve(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Publish a question (optionally with edited wording)."""
    require_moderator(user, session)
    text = str_field(data, "text", 2000) if data.get("text") is not None else None
    question = moderation.approve(question_in(data, session), user, text)
    return {"question_id": question.id}


@command("reject")
def reject(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Reject a question with a reason."""
    require_moderator(user, session)
    reason = data.get("reason")
    if not isinstance(reason, str) or reason not in {r.value for r in RejectReason}:
        raise EventError("invalid", _("Choose a reason for rejecting."),
                         {"reason": ", ".join(r.value for r in RejectReason)})
    question = moderation.reject(question_in(data, session), user, RejectReason(reason))
    return {"question_id": question.id}


@command("merge")
def merge(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Merge a duplicate into an earlier question."""
    require_moderator(user, session)
    question = question_in(data, session)
    into = question_in(data, session, "into_id")
    moderation.merge(question, into, user)
    return {"question_id": question.id, "into_id": into.id}


@command("edit")
def edit(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Change a question's published wording."""
    require_moderator(user, session)
    question = moderation.edit_question(question_in(data, session), user,
                                        str_field(data, "text", 2000))
    return {"question_id": question.id}


@command("pin")
def pin(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Pin or unpin a question."""
    require_moderator(user, session)
    question = moderation.pin(question_in(data, session), user, bool_field(data, "pinned", True))
    return {"question_id": question.id}


@command("assign")
def assign(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Hand a question to a department of the session (or none)."""
    require_moderator(user, session)
    question = question_in(data, session)
    dept_id = int_field(data, "department_id", required=False)
    department = db.session.get(Department, dept_id) if dept_id else None
    if dept_id and department is None:
        raise EventError("not_found", _("There is no such department."))
    moderation.assign(question, user, department)
    return {"question_id": question.id}


@command("reveal_phone")
def reveal_phone(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Show a citizen's full phone number to staff who may answer the question (audited)."""
    question = answerable(user, session, data)
    if not question.phone:
        raise EventError("not_found", _("The citizen left no phone number."))
    return {"question_id": question.id, "phone": question.phone}


@command("claim")
def claim(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Take a question to answer it (`take_over`: a host or the office takes a colleague's)."""
    question = moderation.claim(answerable(user, session, data), user,
                                take_over=bool_field(data, "take_over", False))
    return {"question_id": question.id,
            "claim_expires_at": serialize.iso(question.claim_expires_at)}


@command("release")
def release(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Give back a question one holds."""
    question = moderation.release(answerable(user, session, data), user)
    return {"question_id": question.id}


@command("answer")
def answer(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Publish an answer to a question (`take_over`: past a colleague's claim, host or office;
    `guest_id`: in that guest's name, as a text editor)."""
    question = question_in(data, session)
    guest = studio.guest_of(session, data.get("guest_id"))
    studio.check_answerer(user, question, guest)
    reply = moderation.answer(question, user, _long_text(data, "body", "ANSWER_MAX_LENGTH"),
                              guest=guest, take_over=bool_field(data, "take_over", False))
    return {"question_id": question.id, "answer_id": reply.id}


@command("edit_answer")
def edit_answer(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Reword a published answer (the history is kept)."""
    reply = db.session.get(Answer, int_field(data, "answer_id"))
    if reply is None or reply.question.session_id != session.id:
        raise EventError("not_found", _("There is no such answer in this session."))
    if not (access.can_moderate(user, session) or reply.author_id == user.id
            or (session.reviewed and access.can_review(user, session))):
        raise EventError("forbidden",
                         _("Only its author, the host or the office may edit this answer."))
    answers.edit_answer(reply, user, _long_text(data, "body", "ANSWER_MAX_LENGTH"))
    return {"answer_id": reply.id}


@command("follow_up")
def follow_up(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Mark a question as needing offline follow-up (or not)."""
    question = answerable(user, session, data)
    moderation.flag_follow_up(question, user, bool_field(data, "needed", True))
    return {"question_id": question.id}


@command("post")
def post(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Publish a policy explanation or a notice."""
    require_moderator(user, session)
    kind = data.get("kind", PostKind.POLICY.value)
    if not isinstance(kind, str) or kind not in {k.value for k in PostKind}:
        raise EventError("invalid", _("Unknown kind of post."), {"kind": "policy, notice"})
    item = moderation.create_post(session, user, PostKind(kind),
                                  _long_text(data, "body", "POST_MAX_LENGTH"),
                                  bool_field(data, "pinned", False))
    return {"post_id": item.id}


@command("update_post")
def update_post(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Edit, pin or remove a host post."""
    require_moderator(user, session)
    item = db.session.get(HostPost, int_field(data, "post_id"))
    if item is None or item.session_id != session.id or item.removed:
        raise EventError("not_found", _("There is no such post in this session."))
    body = (_long_text(data, "body", "POST_MAX_LENGTH")
            if data.get("body") is not None else None)
    pinned = bool_field(data, "pinned") if data.get("pinned") is not None else None
    moderation.update_post(item, session, user, body, pinned, bool_field(data, "removed", False))
    return {"post_id": item.id}


@command("start")
def start(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Take the session live."""
    require_moderator(user, session)
    moderation.start_session(session, user)
    return {"state": session.state.value}


@command("end")
def end(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """End the session."""
    require_moderator(user, session)
    moderation.end_session(session, user)
    return {"state": session.state.value}
