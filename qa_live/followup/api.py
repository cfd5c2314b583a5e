"""The follow-up part of /api/v1: JSON shapes and payload parsing (routes are in api/views.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _

from qa_live.auth.models import User
from qa_live.extensions import db
from qa_live.followup import calendar, dates, services
from qa_live.followup.models import FollowUp, FollowUpStatus
from qa_live.live import access
from qa_live.live.models import Question
from qa_live.live.serialize import iso
from qa_live.live.socket_common import EventError


def follow_up_json(follow_up: FollowUp, history: bool = False) -> dict[str, Any]:
    """A follow-up as the API returns it (never the citizen's phone number)."""
    question = follow_up.question
    data: dict[str, Any] = {
        "id": follow_up.id,
        "question_id": follow_up.question_id,
        "question_text": question.text,
        "session_id": follow_up.session_id,
        "session_slug": question.session.slug,
        "department_id": follow_up.department_id,
        "department": follow_up.department.name if follow_up.department else None,
        "assignee_id": follow_up.assignee_id,
        "assignee": follow_up.assignee.display_name if follow_up.assignee else None,
        "due_date": follow_up.due_date.isoformat(),
        "overdue": dates.is_overdue(follow_up),
        "status": follow_up.status.value,
        "notes": follow_up.notes,
        "outcome": follow_up.outcome,
        "reason": follow_up.reason,
        "automatic": follow_up.automatic,
        "answer_id": follow_up.answer_id,
        "has_phone": bool(question.phone),
        "notify_state": follow_up.notify_state.value,
        "created_at": iso(follow_up.created_at),
        "updated_at": iso(follow_up.updated_at),
        "closed_at": iso(follow_up.closed_at),
    }
    if history:
        data["changes"] = [
            {"at": iso(c.at), "user_id": c.user_id,
             "user": c.user.display_name if c.user else None,
             "field": c.field, "old": c.old, "new": c.new}
            for c in follow_up.changes
        ]
    return data


def get_follow_up(user: User, follow_up_id: int) -> FollowUp:
    """Load a follow-up the user may work on, or raise not_found / forbidden."""
    follow_up = db.session.get(FollowUp, follow_up_id)
    if follow_up is None:
        raise EventError("not_found", _("There is no such follow-up."))
    if not access.works_for(user, follow_up.department_id):
        raise EventError("forbidden", _("This follow-up belongs to another department."))
    return follow_up


def _date(data: dict[str, Any], name: str) -> date | services._Unset:
    if name not in data:
        return services.UNSET
    value = data[name]
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 \
            else _bad_date(name)
    except ValueError:
        return _bad_date(name)


def _bad_date(name: str) -> date:
    raise EventError("invalid", _("%(name)s must be a date such as 2026-05-20.", name=name),
                     {name: "YYYY-MM-DD"})


def _optional_id(data: dict[str, Any], name: str) -> int | None | services._Unset:
    if name not in data:
        return services.UNSET
    value = data[name]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise EventError("invalid", _("%(name)s must be an id or null.", name=name),
                         {name: "int|null"})
    return value


def _text(data: dict[str, Any], name: str) -> str | services._Unset:
    if name not in data:
        return services.UNSET
    value = data[name]
    if not isinstance(value, str):
        raise EventError("invalid", _("%(name)s must be text.", name=name), {name: "str"})
    return value


def _or(value: Any, default: Any) -> Any:
    return default if value is services.UNSET else value


def create(user: User, data: dict[str, Any]) -> FollowUp:
    """Open a follow-up from a JSON body: {question_id, department_id?, assignee_id?, ...}."""
    question_id = _optional_id(data, "question_id")
    question = db.session.get(Question, question_id) if isinstance(question_id, int) else None
    if question is None:
        raise EventError("not_found", _("There is no such question."), {"question_id": "int"})
    if not access.handles(user, question):
        raise EventError("forbidden", _("This question belongs to another department."))
    department_id = _optional_id(data, "department_id")
    return services.create_follow_up(
        question, user, department_id=department_id,
        assignee_id=_or(_optional_id(data, "assignee_id"), None),
        due_date=_or(_date(data, "due_date"), None), notes=_or(_text(data, "notes"), ""),
    )


def update(user: User, follow_up: FollowUp, data: dict[str, Any]) -> list[str]:
    """Change fields from a JSON body; a status may be open or in_progress here."""
    status: FollowUpStatus | services._Unset = services.UNSET
    if "status" in data:
        if data["status"] not in (FollowUpStatus.OPEN.value, FollowUpStatus.IN_PROGRESS.value):
            raise EventError("invalid", _("Close a follow-up with …/close."),
                             {"status": "open|in_progress"})
        status = FollowUpStatus(data["status"])
    return services.update_follow_up(
        follow_up, user, department_id=_optional_id(data, "department_id"),
        assignee_id=_optional_id(data, "assignee_id"), due_date=_date(data, "due_date"),
        notes=_text(data, "notes"), status=status, today=calendar.local_today(),
    )


def close(user: User, follow_up: FollowUp, data: dict[str, Any]) -> None:
    """Close from a JSON body: {status: done, reply, outcome?} or {status: impossible, reason}."""
    status = data.get("status")
    outcome = _or(_text(data, "outcome"), "")
    if status == FollowUpStatus.DONE.value:
        services.close_done(follow_up, user, _or(_text(data, "reply"), ""), outcome)
    elif status == FollowUpStatus.IMPOSSIBLE.value:
        services.close_impossible(follow_up, user, _or(_text(data, "reason"), ""), outcome)
    else:
        raise EventError("invalid", _("status must be done or impossible."),
                         {"status": "done|impossible"})
