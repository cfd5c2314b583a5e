"""What live does when a lower package sends a signal (qa_live/core/signals.py).

create_app() calls connect() once; connecting again changes nothing.
"""

from __future__ import annotations

from typing import Any

from qa_live.core import signals


def _close_consoles(user_id: int, **_kw: Any) -> None:
    """A staff account lost access: close its consoles at once, on every worker."""
    from qa_live.live.staff_sockets import disconnect_user

    disconnect_user(user_id)


def _release_lost_claims(user_id: int, **_kw: Any) -> None:
    """A staff account lost access: the claims it may no longer hold go back (claims.py)."""
    from qa_live.live.claims import release_lost_claims

    release_lost_claims(user_id)


def _publish_session_facts(session_id: int, **kw: Any) -> None:
    """A session's public facts changed: publish them (qa_live/live/session_facts.py)."""
    from qa_live.live.session_facts import publish_session_facts

    publish_session_facts(session_id, **kw)


def connect() -> None:
    """Connect live's receivers."""
    signals.staff_access_revoked.connect(_close_consoles)
    signals.staff_access_revoked.connect(_release_lost_claims)
    signals.session_facts_changed.connect(_publish_session_facts)
