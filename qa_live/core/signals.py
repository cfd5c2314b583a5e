"""Signals for reactions that go upward through the layers (CONVENTIONS.md, "Layers").

A lower package sends; a higher one connects a receiver in create_app() (or when its module is
imported). Senders never import their receivers. Add a signal here, with what it means, what the
sender passes and who listens.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A session's public facts changed (title, description, times, guests, departments, on-duty
#: staff, state), or a department's name did. Sender: the session's id (an int); keyword
#: ``reason`` (str). live listens: it publishes a ``session`` event and drops cached snapshots.
session_facts_changed = _signals.signal("session-facts-changed")

#: A session has ended. Sender: the LiveSession; keyword ``actor`` (User or None).
#: followup listens: it opens the session's automatic follow-ups.
session_ended = _signals.signal("session-ended")

#: A staff account lost access (logout, deactivation, password reset, role change).
#: Sender: the user's id (an int). live listens: it closes that user's consoles.
staff_access_revoked = _signals.signal("staff-access-revoked")
