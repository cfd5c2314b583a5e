"""Packets for one socket (a namespace's connect, an event's acknowledgement) written straight
to its WebSocket, as broadcasts are (fanout.py), instead of through the socket's queue.

python-engineio hands every packet to the socket's queue; the socket's writer green thread then
wakes, takes it, frames it and writes it, under a gevent timeout of its own. A citizen joining
is sent two such packets (the /qa connect and the join's acknowledgement with the snapshot):
two queue hand-offs and two switches to a writer that has nothing else to do. Here, when
nothing is waiting for that socket (the same test as a broadcast's: its queue empty, its
writer idle, upgraded, not closing, its pings answered), the frame is written with one
non-blocking ``send``; a frame the kernel takes only in part has its rest queued first in
line, and anything else goes through the queue as before. The wire bytes are the same.

Relies on python-engineio's ``Server.send_packet`` and what fanout.deliver reads of its sockets
(docs/realtime.md, upgrade checklist); installed with the fast fan-out, only under gevent and
eventlet, on the versions in compat.VERIFIED.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engineio import packet as eio_packet

from qa_live.transport import fanout


class Tally:
    """How packets for one socket went out in this process (the shutdown line, the tests)."""

    direct = 0  # written straight to the WebSocket (in whole or in part)
    passed = 0  # handed to engineio's own path (queue and writer)

    @classmethod
    def line(cls) -> str:
        """One line for the log."""
        return (f"packets to one socket: {cls.direct} written directly, {cls.passed} through "
                f"its queue")


def direct_send_packet(eio: Any, stock: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    """An Engine.IO server's ``send_packet`` that writes a text MESSAGE straight to the socket's
    WebSocket where that is safe (fanout.deliver decides), and calls ``stock`` otherwise."""

    def send_packet(sid: str, pkt: Any) -> Any:
        sock = eio.sockets.get(sid)
        if (sock is None or pkt.packet_type != eio_packet.MESSAGE
                or not isinstance(pkt.data, str)
                or sock.__dict__.get(fanout.STATE_ATTR) is None):
            Tally.passed += 1
            return stock(sid, pkt)
        frame = fanout.websocket_frame(pkt.encode().encode("utf-8"))
        # fanout.Tally counts broadcasts: what deliver adds for this one packet is taken back
        # (one recipient, no pause: nothing else runs meanwhile under gevent or eventlet).
        counted = fanout.Tally.direct, fanout.Tally.queued, fanout.Tally.split
        fanout.deliver(eio.sockets, [(None, sid)], [], pkt, frame, eio.ping_timeout)
        wrote = fanout.Tally.direct + fanout.Tally.split > counted[0] + counted[2]
        fanout.Tally.direct, fanout.Tally.queued, fanout.Tally.split = counted
        if wrote:
            Tally.direct += 1
        else:
            Tally.passed += 1
        return None

    return send_packet


def install(eio: Any) -> None:
    """Give the Engine.IO server the direct ``send_packet`` (once; cooperative modes only)."""
    if eio.async_mode not in fanout.COOPERATIVE_MODES or getattr(eio, "_qa_unicast", False):
        return
    eio.send_packet = direct_send_packet(eio, eio.send_packet)
    eio._qa_unicast = True
