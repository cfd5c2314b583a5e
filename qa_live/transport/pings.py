"""One timer for every socket's ping, instead of a green thread per socket and per ping.

python-engineio sends each socket a PING every ``ping_interval`` seconds (25 s) by starting a
background task per socket that sleeps the interval and then sends it (``Socket.schedule_ping``
/ ``_send_ping``). Under gevent and eventlet that is a green thread with its own saved stack for
every citizen at all times (about 5 KB each: measured with bench/memory_profile.py) and 400 new
ones a second at 10,000 citizens. Here the sockets waiting for their next ping sit in one queue
(all wait the same interval, so it stays in order) and one green thread per server sends the
pings that are due: the same PING at the same moment within PING_RESOLUTION_S, and the same
``last_ping`` bookkeeping python-engineio's ping-timeout checks read.

Relies on python-engineio's ``Socket.schedule_ping``, ``last_ping``, ``closing``/``closed`` and
``send``; verified with the versions in transport/compat.py (VERIFIED). With any other version,
or the threading mode, python-engineio's own per-socket tasks are used.
"""

from __future__ import annotations

import collections
import time
from typing import Any

from engineio import packet as eio_packet
from engineio import socket as eio_socket

from qa_live.transport.compat import VERIFIED, installed_version

COOPERATIVE_MODES = ("gevent", "gevent_uwsgi", "eventlet")
PING_RESOLUTION_S = 0.5  # a ping goes out at most this late (the interval is 25 s)

_stock_schedule_ping = eio_socket.Socket.schedule_ping


class PingQueue:
    """The sockets of one Engine.IO server waiting for their next ping, in the order due."""

    def __init__(self, eio: Any) -> None:
        self.eio = eio
        self.waiting: collections.deque[tuple[float, Any]] = collections.deque()
        self.running = False

    def add(self, sock: Any) -> None:
        self.waiting.append((time.monotonic() + self.eio.ping_interval, sock))
        if not self.running:
            self.running = True
            self.eio.start_background_task(self.run)

    def send_due(self, now: float) -> int:
        """Send every ping that is due by ``now``; how many went out."""
        sent = 0
        while self.waiting and self.waiting[0][0] <= now:
            _due, sock = self.waiting.popleft()
            if sock.closing or sock.closed:
                continue
            sock.last_ping = time.time()
            try:
                sock.send(eio_packet.Packet(eio_packet.PING))
            except Exception as exc:  # closed meanwhile: its own reader and writer end it
                self.eio.logger.info("%s: no ping sent: %s", getattr(sock, "sid", "?"), exc)
                continue
            sent += 1
        return sent

    def run(self) -> None:
        while True:
            self.send_due(time.monotonic())
            wait = PING_RESOLUTION_S
            if self.waiting:
                wait = min(wait, max(0.0, self.waiting[0][0] - time.monotonic()))
            self.eio.sleep(wait)


def _schedule_ping(self: Any) -> None:
    pings = getattr(self.server, "_qa_pings", None)
    if pings is None:
        return _stock_schedule_ping(self)
    # As python-engineio: only once the previous ping's cycle has completed (a PONG came back).
    if self.last_ping:
        self.last_ping = None
        pings.add(self)
    return None


def install(eio: Any) -> bool:
    """Give this Engine.IO server one ping queue; False (stock pings) where it does not apply."""
    if eio.async_mode not in COOPERATIVE_MODES:
        return False
    if installed_version("python-engineio") not in VERIFIED["python-engineio"]:
        return False
    if getattr(eio, "_qa_pings", None) is None:
        eio._qa_pings = PingQueue(eio)
    # Class-wide, but every other server (none set _qa_pings) keeps the stock behaviour.
    eio_socket.Socket.schedule_ping = _schedule_ping
    return True
