"""Per-process realtime state, all in one home (CONVENTIONS.md, habit 13), with reset() for tests.

Two kinds live here, and nowhere else in qa_live:

- **This process's sockets and marks**, at module level: the /qa and /moderation sockets this
  process holds, open citizen sockets per address, the sessions whose counters, votes or
  polls changed since the last summary, Redis clients of the staff-socket registry, and the
  process-lifetime facts (which apps' background loops run, whether the namespaces are attached).
- **Per app caches** (one database each), in ``app.extensions[APP_KEY]``: the visits not yet
  written, what each session's audience has not heard yet, the public counters last computed,
  the kept public parts of snapshots, and the socket flood limiter.

Everything else in qa_live/live keeps no state between requests and events.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from qa_live.live.visits import VisitTicket

# This process's sockets -------------------------------------------------------------------------

#: /qa sockets: sid -> {"visitor", "session_id", "visit", "ip"}, where "visit" is the page's
#: visits.VisitTicket while it counts as a participant-visit.
citizens: dict[str, dict[str, Any]] = {}
#: Open /qa sockets per client address (nginx's ip_hash sends an address to one worker, so
#: this is the address's whole count there).
connections_by_ip: dict[str, int] = {}
#: /moderation sockets: sid -> {"user_id", "epoch", "session_id"}.
staff: dict[str, dict[str, Any]] = {}
#: Redis clients of the staff-socket registry, by URL (staff_sockets._registry).
redis_clients: dict[str, Any] = {}
#: Session id -> the seq of the last ``event`` sent to this process's pages of the session
#: (heartbeat.note_delivered): what they were told without a heartbeat.
delivered_seq: dict[int, int] = {}

# Changes waiting for the next summary (summaries.py) --------------------------------------------

summary_lock = threading.Lock()
#: Sessions whose counters changed since the last summary.
dirty_counts: set[int] = set()
#: Session -> questions whose votes changed since the last summary.
dirty_votes: dict[int, set[int]] = {}
#: Session -> live polls answered since the last poll summary (poll_results.py).
dirty_polls: dict[int, set[int]] = {}

# Process-lifetime facts (never reset: a started thread cannot be unstarted) ---------------------

#: id() of the apps whose background loops run in this process (loops.start_loops).
loops_started: set[int] = set()
#: id() of the apps whose seq heartbeat runs in this process (heartbeat.start).
heartbeats_started: set[int] = set()
#: Whether the /qa and /moderation handlers are attached to the process's SocketIO.
namespaces_registered: list[bool] = []
#: Session id -> how many ``votes`` summaries this process's client manager has sent its pages
#: (kept_votes.py): a vote count kept for joins is good while this number has not moved. Only
#: grows, so a count kept before a reset() is never taken for current.
votes_generation: dict[int, int] = {}
#: What this process has done since it started, for /metrics (qa_live/ops/metrics.py):
#: (name, ((label, value), ...)) -> count. Never reset: Prometheus counters only grow.
tallies: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
tally_lock = threading.Lock()


def tally(name: str, n: int = 1, **labels: str) -> None:
    """Count something this process did (an emit, a failed acknowledgement) for /metrics."""
    key = (name, tuple(sorted(labels.items())))
    with tally_lock:
        tallies[key] = tallies.get(key, 0) + n

# Per app ------------------------------------------------------------------------------------------

APP_KEY = "qa_live.realtime"
#: How many public parts of snapshots an app keeps (snapshots.py).
PUBLIC_PARTS_KEPT = 64

Op = tuple[str, "VisitTicket", datetime]


class VisitLog:
    """Joins and leaves recorded and not yet written, in the order they happened (visits.py)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ops: list[Op] = []
        self.writing = threading.Lock()  # one transaction at a time writes the log


class Audiences:
    """The summaries each session's audience has not heard yet, and when it last did."""

    def __init__(self) -> None:
        self.counts_waiting: set[int] = set()
        self.votes_waiting: dict[int, set[int]] = {}
        self.sent_at: dict[int, float] = {}
        #: Live polls' results not yet heard, and when each session's audience last heard some.
        self.polls_waiting: dict[int, set[int]] = {}
        self.polls_sent_at: dict[int, float] = {}


@dataclass
class AppState:
    """One app's realtime caches (one database each; never shared between apps)."""

    visit_log: VisitLog = field(default_factory=VisitLog)
    audiences: Audiences = field(default_factory=Audiences)
    #: session id -> (monotonic time, public counters) as computed last (counters.py).
    recent_counts: dict[int, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    #: (session id, seq, locale) -> public part of a snapshot (snapshots.py).
    public_parts: OrderedDict[tuple[int, int, str], dict[str, Any]] = field(
        default_factory=OrderedDict)
    public_parts_lock: threading.Lock = field(default_factory=threading.Lock)
    #: session id -> (seq, votes generation, {question id: upvotes}) of its published questions,
    #: and (session id, seq, locale) -> (votes generation, questions with those votes laid
    #: over, encoded once): what a join sends without a query (kept_votes.py).
    kept_votes: dict[int, tuple[int, int, dict[int, int]]] = field(default_factory=dict)
    voted_questions: OrderedDict[tuple[int, int, str], tuple[int, Any]] = field(
        default_factory=OrderedDict)
    #: poll id -> (monotonic time, public results) as counted last (poll_results.py).
    poll_results: dict[int, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    #: The socket flood limiter (socket_common.SocketEventLimiter), made on first use.
    socket_limiter: Any = None
    #: The asks waiting to be written together (group_commit.GroupCommit), made on first use.
    group_commit: Any = None
    #: Background loop -> (monotonic time its last round ended, its interval), for /readyz.
    rounds: dict[str, tuple[float, float]] = field(default_factory=dict)


def of_app(app: Flask | None = None) -> AppState:
    """The app's realtime caches (the current app's by default), made on first use."""
    extensions = (app or current_app).extensions
    kept = extensions.get(APP_KEY)
    if kept is None:
        kept = extensions.setdefault(APP_KEY, AppState())
    return kept


def reset(app: Flask | None = None) -> None:
    """Forget this process's sockets and marks, and the app's caches (tests start clean).

    Sockets still open are not closed: a later disconnect of one finds nothing and does nothing.
    Which apps' loops run and whether the namespaces are attached are left as they are.
    """
    citizens.clear()
    connections_by_ip.clear()
    staff.clear()
    delivered_seq.clear()
    with summary_lock:
        dirty_counts.clear()
        dirty_votes.clear()
        dirty_polls.clear()
    if app is not None:
        app.extensions.pop(APP_KEY, None)
