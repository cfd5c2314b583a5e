"""Work done once per deployment, not once per worker: a leader lease in Redis.

Several workers share one Redis (the message queue). The one holding the key
``qa_live:leader`` (SET NX with a time to live of LEADER_LEASE_S, renewed every heartbeat by its
holder only) is the leader: it sends the counters and votes summaries and closes dead workers'
visits (qa_live/live/workers.py). If it dies, the key lapses and another worker takes it at its
next heartbeat. Without a message queue there is one process, and it is always the leader.

The summaries need to know what changed in every worker: a worker that is not the leader hands
its marks ("session 12's counters changed", "question 34's votes changed") to the leader through
a Redis set instead of sending a summary of its own. So each console hears one summary per
interval, whatever the number of workers. While Redis is down nobody leads: marks wait in each
worker and summaries resume with it (they could not travel without it anyway).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask, current_app

from qa_live.core.outages import safe_url, troubles
from qa_live.live import workers

LEADER_KEY = "qa_live:leader"
MARKS_KEY = "qa_live:summary_marks"
MARKS_TTL_S = 120  # marks nobody collected (no leader for two minutes) are dropped

# Renew only while we hold it: compare and extend in one step.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""

Marks = tuple[set[int], dict[int, set[int]]]  # sessions whose counts changed, votes by session


class Lease:
    """This worker's view of the lease: held until `until` (monotonic), if at all."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.until = 0.0
        self.lock = threading.Lock()
        self._client: Any = None
        self._renew: Any = None
        self._release: Any = None

    @property
    def shared(self) -> bool:
        """Whether several workers may run (a Redis message queue); else this one leads."""
        return bool(self.url)

    def client(self) -> Any:
        """A Redis client of our own (short timeouts: a heartbeat must not hang on it)."""
        if self._client is None:
            import redis

            self._client = redis.Redis.from_url(self.url or "", socket_timeout=1.0,
                                                socket_connect_timeout=1.0)
            self._renew = self._client.register_script(_RENEW)
            self._release = self._client.register_script(_RELEASE)
        return self._client

    def leading(self) -> bool:
        """Whether this worker is the leader now."""
        return not self.shared or time.monotonic() < self.until

    def renew(self, ttl_s: float, holder: str) -> bool:
        """Take or keep the lease for `holder` (a worker id); whether it holds it now.

        Raises the Redis error when Redis cannot be reached (and we hold nothing then).
        """
        if not self.shared:
            return True
        wid = holder
        began = time.monotonic()
        ttl_ms = int(ttl_s * 1000)
        try:
            client = self.client()
            held = bool(client.set(LEADER_KEY, wid, nx=True, px=ttl_ms)) or bool(
                self._renew(keys=[LEADER_KEY], args=[wid, ttl_ms]))
        except Exception:
            self.until = 0.0
            raise
        # Counted from before we asked, and a second short: never later than Redis' own expiry.
        self.until = began + ttl_s - 1.0 if held else 0.0
        return held

    def release(self, holder: str) -> None:
        """Give the lease up (a clean shutdown), so another worker takes it at once."""
        if not self.shared or not self.until:
            return
        self.until = 0.0
        try:
            self.client()
            self._release(keys=[LEADER_KEY], args=[holder])
        except Exception:  # noqa: S110 - it lapses by itself anyway
            pass

    def share_marks(self, sessions: set[int], votes: dict[int, set[int]]) -> Marks | None:
        """The marks the summary should cover, or None when another worker sends it.

        A follower adds its marks to the shared set; the leader takes the set (its own marks
        with everyone's). On a Redis error the follower's marks are kept for the next round.
        """
        if not self.shared:
            return sessions, votes
        client = self.client()
        if not self.leading():
            members = [f"c:{sid}" for sid in sessions]
            members += [f"v:{sid}:{qid}" for sid, ids in votes.items() for qid in ids]
            if members:
                pipe = client.pipeline()
                pipe.sadd(MARKS_KEY, *members)
                pipe.expire(MARKS_KEY, MARKS_TTL_S)
                pipe.execute()
            return None
        pipe = client.pipeline()  # MULTI: read and empty in one step
        pipe.smembers(MARKS_KEY)
        pipe.delete(MARKS_KEY)
        raw, _deleted = pipe.execute()
        sessions = set(sessions)
        votes = {sid: set(ids) for sid, ids in votes.items()}
        for item in raw:
            kind, *numbers = item.decode().split(":")
            try:
                ids = [int(n) for n in numbers]
            except ValueError:
                continue
            if kind == "c" and len(ids) == 1:
                sessions.add(ids[0])
            elif kind == "v" and len(ids) == 2:
                votes.setdefault(ids[0], set()).add(ids[1])
                sessions.add(ids[0])
        return sessions, votes


def lease(app: Flask | None = None) -> Lease:
    """The app's lease (one per app in a process)."""
    target: Any = app or current_app._get_current_object()  # type: ignore[attr-defined]
    kept = target.extensions.get("qa_live.lease")
    if kept is None:
        url = target.config.get("SOCKETIO_MESSAGE_QUEUE") or ""
        shared = url if url.startswith(("redis://", "rediss://", "unix://")) else None
        kept = target.extensions.setdefault("qa_live.lease", Lease(shared))
    return kept


def leading() -> bool:
    """Whether this worker does the deployment-wide work now."""
    return lease().leading()


def renew() -> None:
    """Take or keep the lease; a Redis failure is reported once (the heartbeat calls this)."""
    held = lease()
    if not held.shared:
        return
    was = held.leading()
    try:
        now = held.renew(float(current_app.config["LEADER_LEASE_S"]), workers.worker_id())
    except Exception as exc:  # reported once (as Redis' outage), retried next beat
        troubles().failed("leader lease", exc)
        now = False
    if now and not was:
        current_app.logger.info("worker %s leads (summaries, closing dead workers' visits) "
                                   "through %s", workers.worker_id(), safe_url(held.url or ""))
