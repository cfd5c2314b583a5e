"""Each worker's heartbeat: pages learn the latest seq, the message queue is watched, the worker
says it is alive, and the leader closes what dead workers left open.

Every HEARTBEAT_INTERVAL_S (2 s) each worker, in one round (:func:`beat`):

1. **watches the message queue** (Redis): a PING, and once it answers again, the number of
   workers subscribed to it. The moment it breaks and the moment it is whole again are one log
   line each, with the time; the worker's own staff consoles hear a ``service`` event (a
   banner), sent straight to them, not through the queue that is down.
2. **writes its heartbeat** in the database (``workers.last_seen_at``, qa_live/live/workers.py).
3. **takes or keeps the leader lease** (qa_live/live/lease.py).
4. **tells its own pages the latest seq** of each session they watch (``seq`` on ``/qa``:
   ``{"session_id", "seq"}``), whenever it moved since it last told them, again straight to
   this worker's sockets. A page that missed an event (a broker outage, a worker restart while
   it was being published) sees a seq it has not applied, waits a moment for the event, and
   then replays what it missed with ``join`` and its ``last_seq``: within about 5 s, even if
   nothing else is ever published (docs/realtime.md, "Heartbeat").
5. the leader **closes the visits of dead workers** (workers.sweep_dead).

Each step fails alone: an unreachable database or Redis is one line when it breaks and one
when it is back (qa_live/core/outages.Troubles), and the next round tries again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from qa_live.core.outages import DATABASE, iso, safe_url, troubles
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live import events, lease, realtime, summaries, visits, workers
from qa_live.planning.models import LiveSession

TOLD_KEY = "qa_live.told_seq"
QUEUE_KEY = "qa_live.queue_watch"
#: Once Redis answers again, "whole" waits for every worker's subscription to come back (the
#: socket library retries with a growing pause), at most this long.
RESUBSCRIBE_WAIT_S = 30.0
#: python-socketio's own log lines while Redis is down (one per publish and per retry, without
#: a time): taken as a sign of the outage and not printed; the watch says it once.
_QUEUE_NOISE = ("Cannot publish to redis", "Cannot receive from redis")



class QueueWatch:
    """The message queue as this worker sees it: up, down, or back but not yet whole."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = f"message queue ({safe_url(url)})"
        self.lock = threading.Lock()
        self.state = "up"
        self.since = utcnow()
        self.answering_since = 0.0  # monotonic time PING first answered after an outage
        self.subscribers = 0  # workers subscribed while it was whole

    def broke(self, app: Flask, reason: str | BaseException) -> None:
        """The queue failed (a PING, or the socket library said so)."""
        with self.lock:
            newly = self.state != "down"
            if newly:
                self.state, self.since = "down", utcnow()
        troubles(app).failed(self.name, reason)
        if newly:
            _tell_consoles(app, self)

    def answered(self, app: Flask, subscribers: int) -> None:
        """PING answered; `subscribers` workers listen on the channel."""
        with self.lock:
            if self.state == "up":
                self.subscribers = subscribers
                return
            if self.state == "down":
                self.state = "recovering"
                self.answering_since = time.monotonic()
            whole = (subscribers >= self.subscribers
                     or time.monotonic() - self.answering_since > RESUBSCRIBE_WAIT_S)
            if not whole:
                return
            self.state, self.since = "up", utcnow()
            self.subscribers = subscribers
        troubles(app).recovered(self.name)
        _tell_consoles(app, self)


def _queue_url(app: Flask) -> str | None:
    url = app.config.get("SOCKETIO_MESSAGE_QUEUE") or ""
    return url if url.startswith(("redis://", "rediss://", "unix://")) else None


def queue_watch(app: Flask | None = None) -> QueueWatch | None:
    """The app's watch on its Redis message queue (None without one)."""
    target: Any = app or current_app._get_current_object()  # type: ignore[attr-defined]
    url = _queue_url(target)
    if url is None:
        return None
    kept = target.extensions.get(QUEUE_KEY)
    if kept is None:
        kept = target.extensions.setdefault(QUEUE_KEY, QueueWatch(url))
        troubles(target).names["Redis"] = kept.name  # Redis errors anywhere are its outage
    return kept


def service_status(app: Flask | None = None) -> dict[str, Any]:
    """What the console's banner shows: {"message_queue": "up"|"down"|"recovering", "since"}."""
    watch = queue_watch(app)
    if watch is None:
        return {"message_queue": "up", "since": None}
    return {"message_queue": watch.state if watch.state != "recovering" else "down",
            "since": iso(watch.since)}


def _tell_consoles(app: Flask, watch: QueueWatch) -> None:
    """This worker's staff consoles hear the queue's state, not through the queue."""
    with app.app_context():
        socketio.emit("service", service_status(app), namespace=events.STAFF_NS,
                      ignore_queue=True)


def check_queue() -> None:
    """Step 1: PING Redis; count the workers subscribed once it answers again."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    watch = queue_watch(app)
    if watch is None:
        return
    client = lease.lease(app).client()
    try:
        client.ping()
        channel = getattr(socketio.server.manager, "channel", "flask-socketio")
        subscribers = int(dict(client.pubsub_numsub(channel)).get(channel.encode(), 0))
    except Exception as exc:  # the outage is the news
        watch.broke(app, exc)
        return
    watch.answered(app, subscribers)
    if watch.state != "up":  # consoles opened meanwhile learn it too
        _tell_consoles(app, watch)


def tell_latest_seq() -> int:
    """Step 4: this worker's pages hear their sessions' latest seq when it moved; how many."""
    rooms = socketio.server.manager.rooms.get(events.PUBLIC_NS, {})
    watched = []
    for room, members in list(rooms.items()):
        if isinstance(room, str) and room.startswith("s:") and members:
            try:
                watched.append(int(room[2:]))
            except ValueError:
                continue
    told: dict[int, int] = current_app.extensions.setdefault(TOLD_KEY, {})
    for gone in set(told) - set(watched):
        del told[gone]
    if not watched:
        return 0
    try:
        latest = dict(db.session.execute(
            select(LiveSession.id, LiveSession.last_seq).where(LiveSession.id.in_(watched))).all())
    finally:
        db.session.rollback()  # end the read: a heartbeat holds no transaction open
    sent = 0
    for session_id, seq in latest.items():
        if told.get(session_id) == seq or realtime.delivered_seq.get(session_id) == seq:
            told[session_id] = seq  # the pages had it with the event itself
            continue
        socketio.emit("seq", {"session_id": session_id, "seq": seq},
                      to=events.session_room(session_id), namespace=events.PUBLIC_NS,
                      ignore_queue=True)
        told[session_id] = seq
        sent += 1
    return sent


def note_delivered(namespace: str, room: Any, event: str, data: Any) -> None:
    """Keep the seq of each ``event`` being sent to a session's pages in this process: a
    heartbeat repeating it would be one more broadcast to every page for nothing (and, while
    answers are being published, one every HEARTBEAT_INTERVAL_S in their way). Noted as the
    broadcast starts: a large one pauses now and then, and a beat may run in such a pause."""
    if event != "event" or namespace != events.PUBLIC_NS or not isinstance(room, str):
        return
    envelope = data[0] if isinstance(data, tuple) and data else data
    seq = envelope.get("seq") if isinstance(envelope, dict) else None
    if room.startswith("s:") and isinstance(seq, int):
        with contextlib.suppress(ValueError):
            realtime.delivered_seq[int(room[2:])] = seq


def observe_deliveries(manager: Any) -> None:
    """Have this process's client manager tell note_delivered of its emits (where it can)."""
    observers = getattr(manager, "observers", None)
    if observers is not None and note_delivered not in observers:
        observers.append(note_delivered)


def _beat_worker() -> None:
    """Step 2: the heartbeat row; a worker that was taken for dead lets its pages reconnect."""
    if workers.beat():
        return
    server = socketio.server
    for sid, _eio_sid in list(server.manager.get_participants(events.PUBLIC_NS, None)):
        server.disconnect(sid, namespace=events.PUBLIC_NS, ignore_queue=True)


def _sweep() -> None:
    """Step 5 (leader): close what dead workers left open; their sessions' counters go out."""
    for session_id in workers.sweep_dead():
        summaries.mark_counts(session_id)


def _step(what: str, work: Any) -> bool:
    try:
        work()
    except Exception as exc:  # one line per outage (Troubles), retried next beat
        try:
            db.session.rollback()
        except Exception:  # noqa: S110 - the connection may be gone too
            pass
        troubles().failed(what, exc)
        return False
    troubles().recovered(what)
    return True


def beat() -> None:
    """One heartbeat round (the loop runs it every HEARTBEAT_INTERVAL_S; tests call it)."""
    check_queue()
    if not _step(DATABASE, _beat_worker):
        workers.missed_beat()
    lease.renew()
    _step("latest seq to pages", tell_latest_seq)
    if lease.leading():
        _step("closing dead workers' visits", _sweep)


def start(app: Flask) -> None:
    """Start this app's heartbeat loop once (no loop when HEARTBEAT_INTERVAL_S is 0)."""
    interval = float(app.config["HEARTBEAT_INTERVAL_S"])
    if interval <= 0 or id(app) in realtime.heartbeats_started:
        return
    realtime.heartbeats_started.add(id(app))
    _quiet_queue_noise(app)

    def loop() -> None:
        while True:
            socketio.sleep(interval)
            with app.app_context():
                try:
                    beat()
                except Exception as exc:  # never let the loop die
                    troubles(app).failed("heartbeat", exc)
                finally:
                    db.session.remove()
                realtime.of_app(app).rounds["heartbeat"] = (time.monotonic(), interval)

    realtime.of_app(app).rounds["heartbeat"] = (time.monotonic(), interval)  # started: on time
    socketio.start_background_task(loop)


def stop(app: Flask) -> None:
    """A clean shutdown: say this worker stopped (when all its visits are written); let go."""
    with app.app_context():
        lease.lease(app).release(workers.worker_id())
        if visits.pending_visits(app):
            return  # unwritten leaves: the survivors' sweep closes its visits instead
        try:
            workers.stopped()
        except Exception as exc:  # the sweep will do it
            db.session.rollback()
            troubles(app).failed("stopping", exc)


class _QueueNoise(logging.Filter):
    """Takes python-socketio's Redis retry lines as news of an outage, and keeps them quiet."""

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.app = app

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.startswith(_QUEUE_NOISE):
            return True
        watch = queue_watch(self.app)
        if watch is not None:
            reason = getattr(record, "redis_exception", "") or message
            watch.broke(self.app, str(reason))
        return False


def _quiet_queue_noise(app: Flask) -> None:
    target = getattr(socketio.server, "logger", None)
    if isinstance(target, logging.Logger) and queue_watch(app) is not None:
        target.addFilter(_QueueNoise(app))
