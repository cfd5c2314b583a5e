"""/moderation: the staff console's socket. Login is checked on connect, the account and the
role on every event, so a logout, deactivation or removed role takes effect at once.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, Namespace, disconnect, emit, join_room
from sqlalchemy import select

from qa_live.auth.models import User
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live import access, events, moderation, presence, serialize
from qa_live.live.models import (
    Answer,
    HostPost,
    PostKind,
    Question,
    RejectReason,
)
from qa_live.live.socket_common import (
    EventError,
    bool_field,
    guarded,
    int_field,
    ok,
    payload,
    str_field,
)
from qa_live.planning.models import Department, LiveSession

# sid -> {"user_id", "epoch", "session_id"} for this process's staff sockets.
_staff: dict[str, dict[str, Any]] = {}


def disconnect_user(user_id: int) -> None:
    """Close every staff socket of a user in this process (logout, deactivation, role change)."""
    for sid, state in list(_staff.items()):
        if state["user_id"] == user_id:
            socketio.server.disconnect(sid, namespace=events.STAFF_NS)
            _staff.pop(sid, None)


class StaffNamespace(Namespace):
    """/moderation: queues, moderation, answers, posts, start and end."""

    def on_connect(self, auth: Any = None) -> None:
        g.pop("_login_user", None)  # read this handshake's own session cookie
        user = current_user._get_current_object()
        if not user.is_authenticated:
            raise ConnectionRefusedError({"error": "unauthorized",
                                          "message": _("Please log in to continue.")})
        _staff[request.sid] = {"user_id": user.id, "epoch": user.session_epoch,
                               "session_id": None}

    def on_disconnect(self, reason: Any = None) -> None:
        state = _staff.pop(request.sid, None)
        if state and state["session_id"]:
            user = db.session.get(User, state["user_id"])
            emit("presence", {"user_id": state["user_id"], "online": False,
                              "name": user.display_name if user else ""},
                 to=events.staff_room(state["session_id"]), namespace=events.STAFF_NS)

    # -- checks, run on every event --------------------------------------------------------

    def _user(self) -> User:
        state = _staff.get(request.sid)
        user = db.session.get(User, state["user_id"]) if state else None
        if user is None or not user.active or user.session_epoch != state["epoch"]:
            disconnect()
            raise EventError("unauthorized", _("Your login has ended. Please log in again."))
        return user

    def _session(self, user: User) -> LiveSession:
        state = _staff[request.sid]
        if state["session_id"] is None:
            raise EventError("not_joined", _("Open a session's console first."))
        session = db.session.get(LiveSession, state["session_id"])
        if session is None or not access.can_open_console(user, session):
            raise EventError("forbidden", _("You do not have permission to do this."))
        return session

    def _moderator(self) -> tuple[User, LiveSession]:
        user = self._user()
        session = self._session(user)
        if not access.can_moderate(user, session):
            raise EventError("forbidden", _("Only the host or the office may do this."))
        return user, session

    def _question(self, data: dict[str, Any], session: LiveSession,
                  name: str = "question_id") -> Question:
        question = db.session.get(Question, int_field(data, name))
        if question is None or question.session_id != session.id:
            raise EventError("not_found", _("There is no such question in this session."))
        return question

    def _answerable(self, data: dict[str, Any]) -> tuple[User, Question]:
        user = self._user()
        session = self._session(user)
        question = self._question(data, session)
        if not access.can_answer(user, question):
            raise EventError("forbidden",
                             _("This question belongs to another department."))
        return user, question

    def _done(self, **data: Any) -> dict[str, Any]:
        events.commit_and_send()
        return ok(**data)

    # -- joining ----------------------------------------------------------------------------

    @guarded
    def on_join(self, data: Any = None) -> dict[str, Any]:
        """Open a session's console: join its rooms and get the queues."""
        data = payload(data)
        user = self._user()
        session = db.session.get(LiveSession, int_field(data, "session_id"))
        if session is None or not access.can_open_console(user, session):
            raise EventError("forbidden", _("You do not have permission to do this."))
        departments = access.staff_departments(user, session)
        if departments is None:
            join_room(events.staff_room(session.id))
        else:
            for dept in departments:
                join_room(events.staff_room(session.id, dept))
        _staff[request.sid]["session_id"] = session.id
        emit("presence", {"user_id": user.id, "name": user.display_name, "online": True,
                          "reply": True},
             to=events.staff_room(session.id), namespace=events.STAFF_NS)
        return ok(snapshot=console_snapshot(session, user), me={
            "id": user.id, "name": user.display_name,
            "can_moderate": access.can_moderate(user, session),
            "departments": departments,
        })

    @guarded
    def on_here(self, data: Any = None) -> dict[str, Any]:
        """Answer a presence call: tell the room this console is open."""
        user = self._user()
        session = self._session(user)
        emit("presence", {"user_id": user.id, "name": user.display_name, "online": True},
             to=events.staff_room(session.id), namespace=events.STAFF_NS)
        return ok()

    # -- moderation -------------------------------------------------------------------------

    @guarded
    def on_approve(self, data: Any = None) -> dict[str, Any]:
        """Publish a question (optionally with edited wording)."""
        data = payload(data)
        user, session = self._moderator()
        text = str_field(data, "text", 2000) if data.get("text") is not None else None
        question = moderation.approve(self._question(data, session), user, text)
        return self._done(question_id=question.id)

    @guarded
    def on_reject(self, data: Any = None) -> dict[str, Any]:
        """Reject a question with a reason."""
        data = payload(data)
        user, session = self._moderator()
        reason = data.get("reason")
        if reason not in {r.value for r in RejectReason}:
            raise EventError("invalid", _("Choose a reason for rejecting."),
                             {"reason": ", ".join(r.value for r in RejectReason)})
        question = moderation.reject(self._question(data, session), user, RejectReason(reason))
        return self._done(question_id=question.id)

    @guarded
    def on_merge(self, data: Any = None) -> dict[str, Any]:
        """Merge a duplicate into an earlier question."""
        data = payload(data)
        user, session = self._moderator()
        question = self._question(data, session)
        into = self._question(data, session, "into_id")
        moderation.merge(question, into, user)
        return self._done(question_id=question.id, into_id=into.id)

    @guarded
    def on_edit(self, data: Any = None) -> dict[str, Any]:
        """Change a question's published wording."""
        data = payload(data)
        user, session = self._moderator()
        question = moderation.edit_question(self._question(data, session), user,
                                            str_field(data, "text", 2000))
        return self._done(question_id=question.id)

    @guarded
    def on_pin(self, data: Any = None) -> dict[str, Any]:
        """Pin or unpin a question."""
        data = payload(data)
        user, session = self._moderator()
        question = moderation.pin(self._question(data, session), user,
                                  bool_field(data, "pinned", True))
        return self._done(question_id=question.id)

    @guarded
    def on_assign(self, data: Any = None) -> dict[str, Any]:
        """Hand a question to a department of the session (or none)."""
        data = payload(data)
        user, session = self._moderator()
        question = self._question(data, session)
        dept_id = int_field(data, "department_id", required=False)
        department = db.session.get(Department, dept_id) if dept_id else None
        if dept_id and department is None:
            raise EventError("not_found", _("There is no such department."))
        moderation.assign(question, user, department)
        return self._done(question_id=question.id)

    # -- answering --------------------------------------------------------------------------

    @guarded
    def on_claim(self, data: Any = None) -> dict[str, Any]:
        """Take a question to answer it."""
        user, question = self._answerable(payload(data))
        moderation.claim(question, user)
        return self._done(question_id=question.id,
                          claim_expires_at=serialize.iso(question.claim_expires_at))

    @guarded
    def on_release(self, data: Any = None) -> dict[str, Any]:
        """Give a claimed question back."""
        user, question = self._answerable(payload(data))
        moderation.release(question, user)
        return self._done(question_id=question.id)

    @guarded
    def on_answer(self, data: Any = None) -> dict[str, Any]:
        """Publish an answer to a question."""
        data = payload(data)
        user, question = self._answerable(data)
        body = str_field(data, "body", current_app.config["ANSWER_MAX_LENGTH"] * 2)
        reply = moderation.answer(question, user, body)
        return self._done(question_id=question.id, answer_id=reply.id)

    @guarded
    def on_edit_answer(self, data: Any = None) -> dict[str, Any]:
        """Reword a published answer (the history is kept)."""
        data = payload(data)
        user = self._user()
        session = self._session(user)
        reply = db.session.get(Answer, int_field(data, "answer_id"))
        if reply is None or reply.question.session_id != session.id:
            raise EventError("not_found", _("There is no such answer in this session."))
        if not (access.can_moderate(user, session) or reply.author_id == user.id):
            raise EventError("forbidden", _("Only its author, the host or the office may "
                                            "edit this answer."))
        body = str_field(data, "body", current_app.config["ANSWER_MAX_LENGTH"] * 2)
        moderation.edit_answer(reply, user, body)
        return self._done(answer_id=reply.id)

    @guarded
    def on_follow_up(self, data: Any = None) -> dict[str, Any]:
        """Mark a question as needing offline follow-up (or not)."""
        data = payload(data)
        user, question = self._answerable(data)
        moderation.flag_follow_up(question, user, bool_field(data, "needed", True))
        return self._done(question_id=question.id)

    # -- host posts and the session ------------------------------------------------------------

    @guarded
    def on_post(self, data: Any = None) -> dict[str, Any]:
        """Publish a policy explanation or a notice."""
        data = payload(data)
        user, session = self._moderator()
        kind = data.get("kind", PostKind.POLICY.value)
        if kind not in {k.value for k in PostKind}:
            raise EventError("invalid", _("Unknown kind of post."), {"kind": "policy, notice"})
        body = str_field(data, "body", current_app.config["POST_MAX_LENGTH"] * 2)
        item = moderation.create_post(session, user, PostKind(kind), body,
                                      bool_field(data, "pinned", False))
        return self._done(post_id=item.id)

    @guarded
    def on_update_post(self, data: Any = None) -> dict[str, Any]:
        """Edit, pin or remove a host post."""
        data = payload(data)
        user, session = self._moderator()
        item = db.session.get(HostPost, int_field(data, "post_id"))
        if item is None or item.session_id != session.id or item.removed:
            raise EventError("not_found", _("There is no such post in this session."))
        body = (str_field(data, "body", current_app.config["POST_MAX_LENGTH"] * 2)
                if data.get("body") is not None else None)
        pinned = bool_field(data, "pinned") if data.get("pinned") is not None else None
        moderation.update_post(item, session, user, body, pinned,
                               bool_field(data, "removed", False))
        return self._done(post_id=item.id)

    @guarded
    def on_start(self, data: Any = None) -> dict[str, Any]:
        """Take the session live."""
        user, session = self._moderator()
        moderation.start_session(session, user)
        return self._done(state=session.state.value)

    @guarded
    def on_end(self, data: Any = None) -> dict[str, Any]:
        """End the session."""
        user, session = self._moderator()
        moderation.end_session(session, user)
        result = self._done(state=session.state.value)
        presence.mark_counts(session.id)
        return result


def console_snapshot(session: LiveSession, user: User) -> dict[str, Any]:
    """Every question the user may see in the session, with posts and counters."""
    now = utcnow()
    query = select(Question).where(Question.session_id == session.id)
    departments = access.staff_departments(user, session)
    if departments is not None:
        real = [d for d in departments if d]
        query = query.where(Question.department_id.in_(real) | Question.department_id.is_(None))
    questions = db.session.scalars(query.order_by(Question.created_at, Question.id)).all()
    posts = db.session.scalars(
        select(HostPost).where(HostPost.session_id == session.id, HostPost.removed.is_(False))
        .order_by(HostPost.id)
    ).all()
    return {
        "session": serialize.session_info(session),
        "questions": [serialize.staff_question(q, now) for q in questions],
        "posts": [serialize.post(p) for p in posts],
        "counts": presence.counts(session.id, staff=True),
    }
