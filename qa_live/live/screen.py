"""What the room's projector (/s/<slug>/screen) shows: the director's (导播) choice.

A choice is a kind and, for the kinds that need one, the id of an item of the session: the
latest answer (`latest`, the default), a question being answered now (`question`), the QR code
to ask from a phone (`qr`), a host post (`post`), a photo of the stream (`photo`, registered by
qa_live/live/media/photos.py) and a live poll's results (`poll`, registered by
qa_live/live/polls.py; shown as citizens may see them, so a poll whose results wait for its
closing shows only its question until then). Each kind has one validation function,
registered with `screen_kind`; modules above this one register theirs the same way and call
`withdraw` when their item leaves the public stream.

The choice is the session's (screen_kind, screen_ref), published as a numbered public `screen`
event (a reconnecting projector replays it) and carried in the session info of snapshots. When
the item shown is answered (a question), leaves the stream (rejected, merged, removed), the
projector falls back to the latest answer, which then shows that very answer.

This replaces the projector highlight of issue 19: highlighting a question is choosing the kind
`question` (the `highlight` command stays as its shorthand, qa_live/live/studio_commands.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from qa_live.extensions import db
from qa_live.live import events, serialize
from qa_live.live.models import HostPost, Question, QuestionStatus
from qa_live.live.services import QuestionRefused
from qa_live.planning.models import LiveSession, SessionState

LATEST = "latest"

Check = Callable[[LiveSession, int], None]


@dataclass(frozen=True)
class ScreenKind:
    """A kind of thing the projector can show; `check` refuses an id not fit to show."""

    name: str
    needs_id: bool
    check: Check | None


KINDS: dict[str, ScreenKind] = {}


def screen_kind(name: str, needs_id: bool = True) -> Callable[[Check], Check]:
    """Register a kind with its validation function (called with the session and the id)."""

    def register(check: Check) -> Check:
        KINDS[name] = ScreenKind(name, needs_id, check)
        return check

    return register


KINDS[LATEST] = ScreenKind(LATEST, needs_id=False, check=None)
KINDS["qr"] = ScreenKind("qr", needs_id=False, check=None)


@screen_kind("question")
def _question(session: LiveSession, ref: int) -> None:
    question = db.session.get(Question, ref)
    if question is None or question.session_id != session.id:
        raise QuestionRefused(_("There is no such question in this session."), "not_found")
    if question.status != QuestionStatus.APPROVED:
        raise QuestionRefused(_("Only a published question still waiting for its answer "
                                "can be shown as being answered."), "bad_transition")


@screen_kind("post")
def _post(session: LiveSession, ref: int) -> None:
    post = db.session.get(HostPost, ref)
    if post is None or post.session_id != session.id or post.removed:
        raise QuestionRefused(_("There is no such post in this session."), "not_found")


def parse(data: dict[str, Any]) -> tuple[str, int | None]:
    """The kind and id of a payload {"kind", "id"?}; a clear error for anything else."""
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise QuestionRefused(_("The projector cannot show that. Choose one of: %(kinds)s.",
                                kinds=", ".join(KINDS)), "invalid")
    ref = data.get("id")
    if not KINDS[kind].needs_id:
        if ref is not None:
            raise QuestionRefused(_("This choice takes no id."), "invalid")
        return kind, None
    if isinstance(ref, bool) or not isinstance(ref, int) or not 0 < ref < 2**53:
        raise QuestionRefused(_("Say which one to show (its id)."), "invalid")
    return kind, ref


def choose(session: LiveSession, kind: str, ref: int | None) -> None:
    """Put a kind (and item) on the projector; back to `latest` is possible at any time."""
    chosen = KINDS.get(kind)
    if chosen is None:
        raise QuestionRefused(_("The projector cannot show that."), "invalid")
    if kind != LATEST:
        if session.state != SessionState.LIVE:
            raise QuestionRefused(_("The projector shows a choice only while the session is "
                                    "live."), "not_live")
        if chosen.check is not None:
            assert ref is not None  # parse() gave one for kinds that need it
            chosen.check(session, ref)
    if (session.screen_kind, session.screen_ref) == (kind, ref):
        return
    session.screen_kind, session.screen_ref = kind, ref
    db.session.flush()
    events.publish(session, "screen", current(session))
    events.tell_staff(session.id, "session", serialize.session_info(session))


def current(session: LiveSession) -> dict[str, Any]:
    """The projector's choice as the `screen` event and the session info carry it."""
    return {"kind": session.screen_kind, "id": session.screen_ref}


def withdraw(session: LiveSession, kind: str, ref: int) -> None:
    """The item of this kind and id left the public stream: off the projector, if it is on."""
    if session.screen_kind == kind and session.screen_ref == ref:
        choose(session, LATEST, None)


def after_change(question: Question) -> None:
    """A question on the projector answered or gone from the stream: back to the latest answer."""
    if question.status != QuestionStatus.APPROVED:
        withdraw(question.session, "question", question.id)
