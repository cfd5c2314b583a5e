"""A broadcast that gives way to the large ones: sent in slices, waiting while one goes out.

The live layer's summaries (qa_live/live/summaries.py) are superseded by the next anyway, while
an answer is what citizens wait for. Large broadcasts take turns (fanout.FastEmitManager holds
its ``_large`` lock while one goes out), so a summary sent as one large broadcast made the
answer published meanwhile wait for all of it. This sends the pages of this process a message
``size`` at a time (small emits, which neither take nor wait for that turn) and, before each
slice, waits while a large broadcast is going out, ``limit_s`` in all at most. With a message
queue, or a manager other than ours, it is one room broadcast as before (each worker delivers
it to its own pages).
"""

from __future__ import annotations

import time
from typing import Any

import socketio


def emit_giving_way(sio: Any, event: str, data: Any, room: str, namespace: str,
                    size: int, pause_s: float, limit_s: float) -> None:
    """Emit ``event`` to ``room`` through the Flask-SocketIO ``sio``, in slices of ``size``
    pages after the large broadcasts, pausing ``pause_s`` before each (not 0: gevent may resume
    before it polls for input, an answer's request)."""
    manager = sio.server.manager
    turn = getattr(manager, "_large", None)  # held while a large broadcast is going out
    if turn is None or isinstance(manager, socketio.PubSubManager):
        sio.emit(event, data, to=room, namespace=namespace)
        return
    pages = [sid for sid, _eio_sid in manager.get_participants(namespace, room)]
    if len(pages) <= size:
        sio.emit(event, data, to=room, namespace=namespace)
        return
    give_up = time.perf_counter() + limit_s
    for start in range(0, len(pages), size):
        sio.sleep(pause_s)
        while turn.locked() and time.perf_counter() < give_up:
            sio.sleep(pause_s)
        sio.emit(event, data, to=pages[start:start + size], namespace=namespace)
