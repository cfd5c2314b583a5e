"""How many: this process's sockets, the packets waiting in their queues, the pages in a room.

Read by /metrics (qa_live/ops/metrics.py) and the summaries (qa_live/live/summaries.py); kept
apart from fanout.py, which writes the broadcasts.
"""

from __future__ import annotations

from typing import Any

import socketio


def backlog(eio: Any) -> tuple[int, int]:
    """Engine.IO sockets of this process, and the packets waiting in their own queues."""
    sockets = list(getattr(eio, "sockets", {}).values())
    waiting = 0
    for sock in sockets:
        queue = getattr(sock, "queue", None)
        if queue is not None:
            waiting += queue.qsize()
    return len(sockets), waiting


def local_room_size(manager: socketio.Manager, namespace: str, room: str) -> int:
    """How many of this process's sockets are in a room (python-socketio's ``rooms`` map)."""
    return len(manager.rooms.get(namespace, {}).get(room, ()))
