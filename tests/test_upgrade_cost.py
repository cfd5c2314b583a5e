"""A WebSocket upgrade does no work that is the same for every connection (issue 17).

Checking that gevent-websocket is at a verified version read the package's METADATA file with
importlib.metadata on every upgrade: some 0.2 ms and a file descriptor per citizen joining (at
20,000 connections that file open was what ran out of descriptors first).
"""

from __future__ import annotations

from geventwebsocket.websocket import WebSocket

from qa_live.transport import websockets


def test_upgrades_read_the_installed_version_once(monkeypatch):
    looked_up: list[str] = []
    real = websockets.version

    def counting(name: str) -> str:
        looked_up.append(name)
        return real(name)

    monkeypatch.setattr(websockets, "version", counting)
    getattr(websockets._installed, "cache_clear", lambda: None)()
    try:
        for _ in range(5):
            upgraded = WebSocket.__new__(WebSocket)  # as gevent-websocket makes one per upgrade
            websockets.guard_gevent_websocket(upgraded, 16384)
            assert type(upgraded).__name__ == "GuardedWebSocket"  # still guarded each time
        assert looked_up == ["gevent-websocket"]
    finally:
        getattr(websockets._installed, "cache_clear", lambda: None)()
