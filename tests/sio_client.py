"""Clients that speak the documented protocol (docs/realtime.md) as raw Engine.IO 4 / Socket.IO 5
text over a WebSocket (websocket-client), no Socket.IO library: what the fault tests drive.

* :class:`SioSocket`: one WebSocket to one namespace: the Engine.IO handshake, pings answered,
  events sent with acknowledgements, events received handed to a callback. It never reconnects.
* :class:`Citizen`: a citizen's page as ``static/js/qa_stream.js`` behaves: it joins with the
  last ``seq`` it applied, applies envelopes strictly in order, holds ones that arrive early,
  re-joins when a hole lasts (an early envelope, or a ``seq`` heartbeat ahead of it), reconnects
  by itself after a drop, and sends again the questions whose ``ask`` was not acknowledged, with
  the same ``client_id``. It counts what a test reports: applied, redelivered, gaps healed.
* :class:`Console`: a staff console's socket on ``/moderation``.

Each socket has a reader thread; the test thread sends. Addresses: a citizen may bind its
connection to its own source address in 127.0.0.0/8 (nginx's ``ip_hash`` spreads those over
the workers).
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
import websocket

USER_AGENT = "qa-live-fault-tests"  # one agent for pages and sockets: staff sessions check it
GAP_WAIT_S = 2.0  # as qa_stream.js: how long a hole may last before a re-join
ACK_TIMEOUT_S = 15.0


class Refused(Exception):
    """The namespace refused the connection (connect_error)."""


class SioSocket:
    """One WebSocket, one namespace, raw Engine.IO/Socket.IO text packets."""

    def __init__(self, base_url: str, namespace: str, cookie: str = "",
                 source_ip: str | None = None,
                 on_event: Callable[[str, Any], None] | None = None,
                 on_close: Callable[[], None] | None = None) -> None:
        self.namespace = namespace
        self.on_event = on_event or (lambda _name, _data: None)
        self.on_close = on_close or (lambda: None)
        self._acks: dict[int, tuple[threading.Event, list[Any]]] = {}
        self._next_id = 1
        self._lock = threading.Lock()
        self.closed = threading.Event()
        parts = urlsplit(base_url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        raw = socket.create_connection((host, port), timeout=10,
                                       source_address=(source_ip, 0) if source_ip else None)
        url = f"ws://{host}:{port}/socket.io/?EIO=4&transport=websocket"
        self.ws = websocket.create_connection(url, timeout=10, socket=raw,
                                              cookie=cookie or None,
                                              header=[f"User-Agent: {USER_AGENT}"])
        opening = self.ws.recv()
        if not opening.startswith("0"):
            self.ws.close()
            raise ConnectionError(f"no Engine.IO open packet: {opening!r}")
        self.ws.send(f"40{namespace},")
        while True:  # the namespace's answer (a ping may come first)
            reply = self.ws.recv()
            if reply == "2":
                self.ws.send("3")
                continue
            break
        if reply.startswith(f"44{namespace},"):
            self.ws.close()
            raise Refused(reply[len(namespace) + 3:])
        if not reply.startswith(f"40{namespace},"):
            self.ws.close()
            raise ConnectionError(f"unexpected connect reply {reply!r}")
        self.ws.settimeout(None)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        prefix_event = f"42{self.namespace},"
        prefix_ack = f"43{self.namespace},"
        try:
            while True:
                packet = self.ws.recv()
                if not packet:
                    break
                if packet == "2":
                    self._send("3")
                elif packet.startswith(prefix_event):
                    name, *args = json.loads(packet[len(prefix_event):])
                    self.on_event(name, args[0] if args else None)
                elif packet.startswith(prefix_ack):
                    body = packet[len(prefix_ack):]
                    cut = body.index("[")
                    waiting = self._acks.pop(int(body[:cut]), None)
                    if waiting is not None:
                        waiting[1].extend(json.loads(body[cut:]))
                        waiting[0].set()
                elif packet.startswith("1") or packet.startswith(f"41{self.namespace}"):
                    break
        except (websocket.WebSocketException, OSError, ValueError):
            pass
        finally:
            self.closed.set()
            for event, _result in list(self._acks.values()):
                event.set()  # whoever waits learns the socket is gone
            try:
                self.ws.close()
            except Exception:  # closing a dead socket
                pass
            self.on_close()

    def _send(self, text: str) -> None:
        with self._lock:
            self.ws.send(text)

    def call(self, event: str, data: Any = None, timeout: float = ACK_TIMEOUT_S) -> Any:
        """Send an event with an acknowledgement; its value, or None (no answer, socket gone)."""
        if self.closed.is_set():
            return None
        with self._lock:
            ack_id = self._next_id
            self._next_id += 1
        waiting: tuple[threading.Event, list[Any]] = (threading.Event(), [])
        self._acks[ack_id] = waiting
        try:
            self._send(f"42{self.namespace},{ack_id}" + json.dumps([event, data or {}]))
        except (websocket.WebSocketException, OSError):
            self._acks.pop(ack_id, None)
            return None
        waiting[0].wait(timeout)
        self._acks.pop(ack_id, None)
        return waiting[1][0] if waiting[1] else None

    def close(self) -> None:
        """Hang up (as a phone closing the page)."""
        try:
            self.ws.close()
        except Exception:
            pass
        self.closed.wait(5)


def visitor_cookie(base_url: str, slug: str) -> str:
    """A citizen's page load: the signed qa_visitor cookie, as a Cookie header value."""
    with requests.Session() as http:
        http.trust_env = False
        http.headers["User-Agent"] = USER_AGENT
        page = http.get(f"{base_url}/s/{slug}", timeout=15)
        page.raise_for_status()
        return "; ".join(f"{k}={v}" for k, v in http.cookies.items())


class Citizen:
    """A citizen's page: joins, follows the numbered stream, asks, reconnects (see module doc)."""

    def __init__(self, base_url: str, slug: str, source_ip: str | None = None,
                 cookie: str | None = None, reconnect: bool = True,
                 vanish: Callable[[Citizen], bool] | None = None) -> None:
        self.base_url = base_url
        self.slug = slug
        self.source_ip = source_ip
        self.cookie = cookie or visitor_cookie(base_url, slug)
        self.reconnect = reconnect
        # Asked when the connection drops: True means the phone is closed instead (no retry).
        self.vanish = vanish
        self.vanished = False
        self.dropped_at: float | None = None
        self.back_after: list[float] = []  # seconds from a drop to joined again
        self.reconnect_errors: list[str] = []
        self.lock = threading.RLock()
        self.last_seq = 0
        self.applied: list[int] = []  # seqs applied, in order (a snapshot counts as its seq)
        self.questions: dict[int, dict[str, Any]] = {}
        self.posts: dict[int, dict[str, Any]] = {}
        self.ahead: dict[int, dict[str, Any]] = {}
        self.redelivered = 0  # envelopes received again and ignored (replay overlap)
        self.heard_ahead = 0  # highest seq a `seq` heartbeat said exists
        self.heartbeats = 0
        self.rejoins_for_gap = 0
        self.behind_since: float | None = None
        self.healed_after: list[float] = []  # seconds from noticing a hole to closing it
        self.snapshots = 0
        self.restarts_of_log = 0  # snapshots behind what was applied (a restored database)
        self.drops = 0
        self.connects = 0
        self.pending: dict[str, str] = {}  # client_id -> text not yet acknowledged
        self.acked: dict[str, int] = {}  # client_id -> question id
        self.refusals: list[dict[str, Any]] = []  # acks with ok false
        self.sock: SioSocket | None = None
        self.joined = threading.Event()
        self.stopped = False
        self._joining = False
        self._buffer: list[dict[str, Any]] = []
        self._open()
        self._watch = threading.Thread(target=self._watch_gaps, daemon=True)
        self._watch.start()

    # -- connection ---------------------------------------------------------------------------

    def _open(self) -> None:
        self.sock = SioSocket(self.base_url, "/qa", self.cookie, self.source_ip,
                              on_event=self._on_event, on_close=self._on_close)
        self.connects += 1
        self._join()

    def _on_close(self) -> None:
        self.joined.clear()
        if self.stopped or not self.reconnect:
            return
        self.drops += 1
        self.dropped_at = time.monotonic()
        if self.vanish is not None and self.vanish(self):
            self.vanished = True
            self.stopped = True
            return
        threading.Thread(target=self._reconnect, daemon=True).start()

    def _reconnect(self) -> None:
        delay = 0.3
        while not self.stopped:
            time.sleep(delay)
            try:
                self._open()
            except (OSError, websocket.WebSocketException, ConnectionError, Refused) as exc:
                self.reconnect_errors.append(repr(exc)[:200])
                delay = min(delay * 1.5, 2.0)
                continue
            if self.joined.is_set() or (self.sock is not None and self.sock.closed.is_set()):
                return  # joined, or dropped again (whose close starts another attempt)
            # Connected but not joined ("try again"): join once more on this socket.
            time.sleep(1.0)
            try:
                self._join()
            except AssertionError as exc:
                self.reconnect_errors.append(str(exc)[:200])
            if self.joined.is_set():
                return

    def _join(self) -> None:
        sock = self.sock
        assert sock is not None
        with self.lock:
            self._joining = True
            self._buffer = []
            since = self.last_seq
        ack = sock.call("join", {"slug": self.slug, "last_seq": since})
        if not ack or not ack.get("ok"):
            with self.lock:
                self._joining = False
            if ack is None or ack.get("error") == "unavailable":
                return  # gone (a reconnect joins again) or "try again" (the caller does)
            raise AssertionError(f"join refused: {ack}")
        with self.lock:
            if ack["mode"] == "snapshot":
                snap = ack["snapshot"]
                self.snapshots += 1
                self.questions = {q["id"]: q for q in snap["questions"]}
                self.posts = {p["id"]: p for p in snap["posts"]}
                if snap["seq"] < self.last_seq:  # the log went back (a restored backup)
                    self.heard_ahead = snap["seq"]
                    self.behind_since = None
                    self.restarts_of_log += 1
                self.last_seq = snap["seq"]
                self.applied.append(snap["seq"])
                self.ahead.clear()
            else:
                for envelope in ack["events"]:
                    self._apply(envelope)
            self._joining = False
            self._drain_ahead()
            buffered, self._buffer = self._buffer, []
            for envelope in buffered:
                self._receive(envelope)
            self._check_healed()
        self.joined.set()
        if self.dropped_at is not None:
            self.back_after.append(time.monotonic() - self.dropped_at)
            self.dropped_at = None
        self._send_pending()

    def _on_event(self, name: str, data: Any) -> None:
        if name == "event":
            with self.lock:
                if self._joining:
                    self._buffer.append(data)
                else:
                    self._receive(data)
        elif name == "seq":
            with self.lock:
                self.heartbeats += 1
                if isinstance(data, dict) and isinstance(data.get("seq"), int):
                    self.heard_ahead = max(self.heard_ahead, data["seq"])
                    if data["seq"] > self.last_seq and self.behind_since is None:
                        self.behind_since = time.monotonic()

    def _receive(self, envelope: dict[str, Any]) -> None:
        seq = envelope["seq"]
        if seq <= self.last_seq:
            self.redelivered += 1
            return
        self.ahead[seq] = envelope
        self._drain_ahead()
        if self.ahead and self.behind_since is None:
            self.behind_since = time.monotonic()
        self._check_healed()

    def _drain_ahead(self) -> None:
        while self.last_seq + 1 in self.ahead:
            self._apply(self.ahead.pop(self.last_seq + 1))
        for seq in [s for s in self.ahead if s <= self.last_seq]:
            del self.ahead[seq]
            self.redelivered += 1

    def _apply(self, envelope: dict[str, Any]) -> None:
        seq = envelope["seq"]
        if seq <= self.last_seq:
            self.redelivered += 1
            return
        data = envelope.get("data") or {}
        kind = envelope.get("type")
        if kind == "question":
            self.questions[data["id"]] = data
        elif kind == "question.removed":
            self.questions.pop(data["id"], None)
        elif kind == "post":
            self.posts[data["id"]] = data
        elif kind == "post.removed":
            self.posts.pop(data["id"], None)
        self.applied.append(seq)
        self.last_seq = seq

    def _check_healed(self) -> None:
        if self.behind_since is not None and not self.ahead and self.last_seq >= self.heard_ahead:
            self.healed_after.append(time.monotonic() - self.behind_since)
            self.behind_since = None

    def _watch_gaps(self) -> None:
        """As qa_stream.js: a hole that lasts GAP_WAIT_S makes the page join again."""
        while not self.stopped:
            time.sleep(0.25)
            with self.lock:
                since = self.behind_since
                ready = self.joined.is_set() and not self._joining
            if since is not None and ready and time.monotonic() - since >= GAP_WAIT_S:
                self.rejoins_for_gap += 1
                try:
                    self._join()
                except AssertionError:
                    pass
                time.sleep(GAP_WAIT_S)  # one re-join per wait, as the page

    # -- asking ---------------------------------------------------------------------------------

    def ask(self, text: str) -> dict[str, Any] | None:
        """Ask once now; an unanswered question stays pending and goes again after a re-join."""
        client_id = str(uuid.uuid4())
        with self.lock:
            self.pending[client_id] = text
        return self._send_one(client_id, text)

    def _send_one(self, client_id: str, text: str) -> dict[str, Any] | None:
        sock = self.sock
        if sock is None or not self.joined.is_set():
            return None
        ack = sock.call("ask", {"client_id": client_id, "text": text})
        if ack is None:
            return None
        with self.lock:
            if ack.get("ok"):
                self.pending.pop(client_id, None)
                self.acked[client_id] = ack["question"]["id"]
            elif ack.get("error") != "unavailable":  # "try again": keep it, as the page does
                self.pending.pop(client_id, None)
                self.refusals.append(ack)
            else:
                self.refusals.append(ack)
        return ack

    def _send_pending(self) -> None:
        with self.lock:
            waiting = list(self.pending.items())
        for client_id, text in waiting:
            self._send_one(client_id, text)

    def retry_pending(self) -> None:
        """Send again what waits (the page does it after a re-join and on a timer)."""
        self._send_pending()

    # -- the end --------------------------------------------------------------------------------

    def hang_up(self) -> None:
        """Close the page for good."""
        self.stopped = True
        if self.sock is not None:
            self.sock.close()

    def caught_up_to(self, seq: int) -> bool:
        """Whether the page has applied everything up to seq, with nothing held."""
        with self.lock:
            return self.last_seq >= seq and not self.ahead

    def stream_faults(self) -> tuple[list[int], list[int]]:
        """(missing seqs, seqs applied twice) in what the page applied since its first snapshot."""
        with self.lock:
            applied = list(self.applied)
        if not applied:
            return [], []
        start, end = applied[0], max(applied)
        seen: dict[int, int] = {}
        for seq in applied[1:]:
            seen[seq] = seen.get(seq, 0) + 1
        # A later snapshot covers everything up to its seq: those count as seen.
        missing = [s for s in range(start + 1, end + 1) if s not in seen]
        twice = sorted(s for s, n in seen.items() if n > 1)
        return missing, twice


class Console:
    """A staff console's /moderation socket, logged in with a session cookie."""

    def __init__(self, base_url: str, cookie: str, session_id: int) -> None:
        self.events: list[tuple[float, str, Any]] = []
        self.lock = threading.Lock()
        self.sock = SioSocket(base_url, "/moderation", cookie, on_event=self._on_event)
        ack = self.sock.call("join", {"session_id": session_id})
        if not ack or not ack.get("ok"):
            raise AssertionError(f"console join refused: {ack}")

    def _on_event(self, name: str, data: Any) -> None:
        with self.lock:
            self.events.append((time.monotonic(), name, data))

    def named(self, name: str) -> list[tuple[float, Any]]:
        """The events of one name received so far, with when."""
        with self.lock:
            return [(at, data) for at, n, data in self.events if n == name]

    def close(self) -> None:
        """Close the console."""
        self.sock.close()


def staff_cookie(base_url: str, login: str, password: str) -> str:
    """Log in through the login form; the session cookie as a Cookie header value."""
    import re

    with requests.Session() as http:
        http.trust_env = False
        http.headers["User-Agent"] = USER_AGENT
        page = http.get(f"{base_url}/login", timeout=15).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token, "no CSRF token on the login page"
        done = http.post(f"{base_url}/login", data={
            "csrf_token": token.group(1), "login": login, "password": password,
        }, timeout=15, allow_redirects=False)
        assert done.status_code in (302, 303), f"login failed: {done.status_code}"
        return "; ".join(f"{k}={v}" for k, v in http.cookies.items())
