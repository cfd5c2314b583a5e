"""A session's public facts changed: tell the pages, through the numbered event log.

planning's operations (updating a session, announcing, cancelling, renaming a department) send
``session_facts_changed`` (qa_live/core/signals.py); they cannot import live. The receiver here
(connected in qa_live/live/receivers.py) publishes a ``session`` event in the same transaction.
That is what keeps every worker right:

* pages already joined get the new facts with the event (any worker, through the message queue);
* the event takes the next sequence number, and the kept public part of a session's snapshot is
  keyed by sequence number (qa_live/live/snapshots.py), so a page joining on any worker builds
  the new facts instead of reusing the old ones;
* a page that reconnects replays it like any other event.

Consoles hear the same facts as a ``session`` emit. A draft has no public page: only its
consoles are told.
"""

from __future__ import annotations

from typing import Any

from qa_live.extensions import db
from qa_live.live import events, serialize
from qa_live.planning.models import LiveSession


def publish_session_facts(session_id: int, reason: str = "", **_extra: Any) -> None:
    """Publish the session's current facts as a ``session`` event (sent after the commit)."""
    session = db.session.get(LiveSession, session_id)
    if session is None:
        return
    db.session.flush()
    # Read back as stored: collections in their stored order (departments by name after a
    # rename), staff and guests as just replaced.
    db.session.expire(session, ["departments", "staff", "guests"])
    info = serialize.session_info(session)
    if session.is_public:
        events.publish_to(session.id, "session", info)
    events.tell_staff(session.id, "session", info)
