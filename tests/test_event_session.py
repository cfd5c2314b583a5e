"""A socket's cookie session is opened once, at connect, not again for each of its events
(qa_live/core/event_session.py), and staff sockets still act as the staff member who signed in."""

from __future__ import annotations

from typing import Any

import pytest
from flask.sessions import SecureCookieSessionInterface

from tests.test_live_sockets import ask, citizen, live_session, staff  # noqa: F401 - fixture


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts Flask's cookie-session openings (a new serializer, the cookie parsed)."""
    calls: list[int] = []
    real = SecureCookieSessionInterface.open_session

    def counting(self: Any, app: Any, request: Any) -> Any:
        calls.append(1)
        return real(self, app, request)

    monkeypatch.setattr(SecureCookieSessionInterface, "open_session", counting)
    return calls


def test_a_citizens_socket_events_do_not_open_the_cookie_session_again(app, live_session,
                                                                       opened):
    app.config.update(QUESTION_MIN_INTERVAL_S=0)
    sock = citizen(app, live_session)
    assert sock.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)["ok"]
    before = len(opened)
    for k in range(5):
        assert ask(sock, f"第 {k} 个问题：小区停车难怎么办？")["ok"]
    assert len(opened) == before


def test_a_staff_socket_still_acts_as_who_signed_in_event_after_event(app, live_session,
                                                                      opened):
    host = staff(app, "host1")
    for _ in range(3):
        joined = host.emit("join", {"session_id": live_session.id}, namespace="/moderation",
                           callback=True)
        assert joined["ok"] and joined["me"]["can_moderate"], joined
    # An HTTP request has an environ of its own: its session is opened (and saved) as before.
    http = app.test_client()
    before = len(opened)
    http.get(f"/s/{live_session.slug}")
    assert len(opened) == before + 1
