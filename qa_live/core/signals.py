"""Signals for reactions that go upward through the layers (CONVENTIONS.md, "Layers").

A lower package sends; a higher one connects its receivers in its ``receivers.py``, whose
``connect()`` create_app() calls (qa_live/__init__.py, ``_connect_receivers``). Senders never
import their receivers. Add a signal here, with what it means, what the sender passes and who
listens. Receivers run at once, inside the sender's transaction.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A session's public facts changed (title, description, times, guests, departments, on-duty
#: staff, state), or a department's name did. Sender: the session's id (an int); keyword
#: ``reason`` (str). live listens: it publishes a ``session`` event and drops cached snapshots.
session_facts_changed = _signals.signal("session-facts-changed")

#: A session has ended (live.moderation.end_session; the demo loader for its held sessions).
#: Sender: the LiveSession; keyword ``actor`` (User or None).
#: followup listens (followup/receivers.py): it opens the session's automatic follow-ups.
session_ended = _signals.signal("session-ended")

#: Staff flagged a question for offline follow-up after its session ended
#: (live.moderation.flag_follow_up). Sender: the Question; keyword ``actor`` (User or None).
#: followup listens: the question gets its follow-up now.
follow_up_needed = _signals.signal("follow-up-needed")

#: A staff account lost access (logout, deactivation, password reset, role change): sent by
#: auth (services.update_user, services.reset_password, the logout view).
#: Sender: the user's id (an int). live listens (live/receivers.py): it closes their consoles
#: and releases the claims they may no longer hold.
staff_access_revoked = _signals.signal("staff-access-revoked")
