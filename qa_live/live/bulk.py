"""Approving or rejecting several questions at once, in one transaction.

Each question goes through the same command as one by one (`approve`, `reject`: the same
checks, the same operation, the same events) inside a savepoint of the one transaction, with
its own audit entry. A question that cannot be done (another moderator rejected it meanwhile,
it is no longer in the session…) is rolled back to its savepoint alone, its queued events are
dropped, and the reply says why, question by question; the others commit together.

A bulk rejection leaves alone a question a colleague is answering (`claimed`): sweeping it
away with others would end their work unseen; rejecting it on its own stays possible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _

from qa_live.audit import services as audit
from qa_live.auth.models import User
from qa_live.extensions import db
from qa_live.live import claims, events
from qa_live.live.commands import COMMANDS, command, question_in, require_moderator
from qa_live.live.models import RejectReason
from qa_live.live.services import QuestionRefused
from qa_live.live.socket_common import EventError
from qa_live.planning.models import LiveSession

#: The most questions one bulk command takes.
BULK_MAX = 100


def question_ids(data: dict[str, Any]) -> list[int]:
    """The payload's question_ids: 1 to BULK_MAX positive ids, repeats dropped, order kept."""
    value = data.get("question_ids")
    if (not isinstance(value, list) or not value or len(value) > BULK_MAX or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**53 for v in value)):
        raise EventError("invalid", _("Choose 1 to %(n)d questions.", n=BULK_MAX),
                         {"question_ids": _("A list of 1 to %(n)d question ids.", n=BULK_MAX)})
    return list(dict.fromkeys(value))


def _not_claimed_by_another(user: User, session: LiveSession, item: dict[str, Any]) -> None:
    """Refuse a question someone else holds a live claim on (claims.holder)."""
    current = claims.holder(question_in(item, session))
    if current is not None and current.id != user.id:
        raise EventError("claimed", _("%(name)s is answering this question; reject it on "
                                      "its own to stop them.", name=current.display_name))


def run_each(name: str, user: User, session: LiveSession, ids: list[int],
             extra: dict[str, Any],
             guard: Callable[[User, LiveSession, dict[str, Any]], None] | None = None,
             ) -> dict[str, Any]:
    """Run the single-question command `name` on each id (after `guard`); report each outcome."""
    single = COMMANDS[name]
    outbox: list[Any] = db.session.info.setdefault(events.OUTBOX, [])
    results: list[dict[str, Any]] = []
    for question_id in ids:
        item = {"question_id": question_id, **extra}
        queued = len(outbox)
        try:
            with db.session.begin_nested():
                if guard is not None:
                    guard(user, session, item)
                single(user, session, item)
                audit.record(name, user=user, target_type="question", target_id=question_id,
                             session_id=session.id,
                             detail={**audit.command_detail(item), "bulk": True})
        except (EventError, QuestionRefused) as exc:
            del outbox[queued:]  # what the undone part queued is not sent
            code = getattr(exc, "code", "invalid")
            results.append({"question_id": question_id, "ok": False, "error": code,
                            "message": str(getattr(exc, "message", exc))})
        else:
            results.append({"question_id": question_id, "ok": True})
    done = sum(1 for r in results if r["ok"])
    return {"results": results, "done": done, "failed": len(results) - done}


@command("bulk_approve", audited_by_operation=True)
def bulk_approve(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Publish several questions; each is done or refused on its own (results per question)."""
    require_moderator(user, session)
    return run_each("approve", user, session, question_ids(data), {})


@command("bulk_reject", audited_by_operation=True)
def bulk_reject(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Reject several questions with one reason; each is done or refused on its own."""
    require_moderator(user, session)
    ids = question_ids(data)
    reason = data.get("reason")
    # An unknown reason fails every question alike: say so once, before touching any.
    if not isinstance(reason, str) or reason not in {r.value for r in RejectReason}:
        raise EventError("invalid", _("Choose a reason for rejecting."),
                         {"reason": ", ".join(r.value for r in RejectReason)})
    return run_each("reject", user, session, ids, {"reason": reason}, _not_claimed_by_another)
