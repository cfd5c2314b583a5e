"""Write audit entries in the same transaction as the action they record; read them for the office.

The app only ever inserts rows here: there is no edit or delete path (docs/security.md).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from flask import has_request_context, request
from flask_login import current_user

from qa_live.audit.models import AuditEntry
from qa_live.extensions import db

if TYPE_CHECKING:  # audit sits below auth: every layer above records into it
    from qa_live.auth.models import User

#: Payload fields worth keeping in an entry's detail (never full answers or phone numbers).
DETAIL_FIELDS = ("question_id", "into_id", "answer_id", "post_id", "department_id", "reason",
                 "pinned", "needed", "kind", "removed", "value", "status", "take_over")


def client_ip() -> str:
    """The client's address of the current request or socket event ('' outside requests)."""
    if not has_request_context():
        return ""
    return (request.remote_addr or "")[:45]


def record(action: str, *, user: User | None = None, target_type: str = "",
           target_id: int | None = None, session_id: int | None = None,
           detail: dict[str, Any] | None = None, login: str | None = None) -> AuditEntry:
    """Add an audit entry to the current transaction (it commits with the action)."""
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user._get_current_object()
    entry = AuditEntry(
        user_id=user.id if user is not None else None,
        login=(login if login is not None else (user.login if user is not None else ""))[:64],
        action=action[:40],
        target_type=target_type[:20],
        target_id=target_id,
        session_id=session_id,
        ip=client_ip(),
        detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str),
    )
    db.session.add(entry)
    return entry


def command_detail(data: dict[str, Any]) -> dict[str, Any]:
    """The parts of a console command's payload an audit entry keeps."""
    return {k: data[k] for k in DETAIL_FIELDS if k in data and not isinstance(data[k], dict)}
