"""Prometheus metrics of one worker, read at scrape time: GET /metrics (qa_live/ops/views.py).

Each worker process serves its own (Prometheus scrapes every worker; the ``instance`` label
tells them apart). Everything is read from where the worker keeps it already (live/realtime.py,
the queue watch, the lease, transport/fanout.py's tally, the database pool); only HTTP responses
are counted here, by the outermost WSGI layer (core/logs.RequestLog). docs/deployment.md,
"Watching it", lists every metric and a dashboard made of them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from flask import Flask
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from qa_live.core.outages import troubles
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live import events, heartbeat, lease, realtime, workers
from qa_live.transport import queue
from qa_live.transport.fanout import Tally, backlog

KEY = "qa_live.prometheus"


class Metrics:
    """One app's registry and the counter the WSGI layer feeds."""

    def __init__(self, app: Flask) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        for standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            # The same objects as prometheus_client's default registry: CPU, memory, open
            # files of the process; the interpreter; garbage collections.
            self.registry.register(standard)
        self.responses = Counter("qa_live_http_responses", "HTTP responses by status code",
                                 ["code"], registry=self.registry)
        self.registry.register(WorkerCollector(app))

    def count_response(self, status: int) -> None:
        """Count one HTTP response (called by core.logs.RequestLog)."""
        self.responses.labels(code=str(status)).inc()


def init_app(app: Flask) -> Metrics:
    """Make the app's metrics (once)."""
    kept = app.extensions.get(KEY)
    if kept is None:
        kept = app.extensions[KEY] = Metrics(app)
    return kept


def of_app(app: Flask) -> Metrics:
    """The app's metrics."""
    return init_app(app)


def _gauge(name: str, doc: str, value: float | None = None,
           labels: list[str] | None = None) -> GaugeMetricFamily:
    if labels is None:
        return GaugeMetricFamily(name, doc, value=value if value is not None else 0)
    return GaugeMetricFamily(name, doc, labels=labels)


class WorkerCollector(Collector):
    """The worker's state as gauges and counters, computed when Prometheus asks."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        with self.app.app_context():
            yield from self._sockets()
            yield from self._deliveries()
            yield from self._queue()
            yield from self._lags()
            yield from self._dependencies()
            yield from self._pool()

    def _sockets(self) -> Iterator[Metric]:
        sockets = _gauge("qa_live_sockets", "Socket.IO connections held by this worker",
                         labels=["namespace"])
        sockets.add_metric([events.PUBLIC_NS], len(realtime.citizens))
        sockets.add_metric([events.STAFF_NS], len(realtime.staff))
        yield sockets
        server = getattr(socketio, "server", None)
        eio = getattr(server, "eio", None)
        connections, waiting = backlog(eio) if eio is not None else (0, 0)
        yield _gauge("qa_live_engineio_connections", "Engine.IO connections (both namespaces, "
                     "any transport) held by this worker", connections)
        yield _gauge("qa_live_engineio_queued_packets", "Packets waiting in this worker's "
                     "connections' own send queues (a delivery lag when it grows)", waiting)
        me = workers.me(self.app)
        info = _gauge("qa_live_worker", "This worker: its id (as in the workers table), host "
                      "and pid; the value is when it started (Unix time)",
                      labels=["worker", "host", "pid"])
        info.add_metric([me.id, me.host, str(me.pid)], me.started_at.timestamp())
        yield info

    def _deliveries(self) -> Iterator[Metric]:
        emits = CounterMetricFamily("qa_live_emits", "Messages this worker published (to a "
                                    "room, through the message queue when there is one)",
                                    labels=["namespace", "event"])
        failed = CounterMetricFamily("qa_live_socket_errors", "Socket events answered with an "
                                     "error, by code (server_error and unavailable matter)",
                                     labels=["code"])
        with realtime.tally_lock:
            counted = dict(realtime.tallies)
        intake = {name: CounterMetricFamily(f"qa_live_{name}", doc) for name, doc in (
            ("intake_transactions", "Transactions that wrote citizens' questions (asks "
             "arriving together share one: live/group_commit.py)"),
            ("intake_asks", "Questions asked through those transactions"),
            ("intake_refused_busy", "Asks answered unavailable at once: INTAKE_QUEUE_MAX "
             "questions were already waiting to be written"))}
        for (name, labels), value in sorted(counted.items()):
            values = dict(labels)
            if name in intake:
                intake[name].add_metric([], value)
            elif name == "emits":
                emits.add_metric([values.get("namespace", ""), values.get("event", "")], value)
            elif name == "socket_errors":
                failed.add_metric([values.get("code", "")], value)
        yield emits
        yield failed
        yield from intake.values()
        delivered = CounterMetricFamily("qa_live_broadcast_deliveries", "Broadcast messages "
                                        "handed to this worker's connections: written straight "
                                        "to the WebSocket, or queued for the connection's "
                                        "writer", labels=["path"])
        delivered.add_metric(["direct"], Tally.direct)
        delivered.add_metric(["queued"], Tally.queued)
        delivered.add_metric(["split"], Tally.split)
        yield delivered

    def _queue(self) -> Iterator[Metric]:
        watch = heartbeat.queue_watch(self.app)
        if watch is None:
            return
        yield _gauge("qa_live_message_queue_up", "1 when Redis (the message queue) answers and "
                     "every worker is subscribed again, else 0",
                     1 if watch.state == "up" else 0)
        yield _gauge("qa_live_message_queue_subscribers", "Workers subscribed to the message "
                     "queue, as Redis last said", watch.subscribers)
        server = getattr(socketio, "server", None)
        listening = queue.listening(server.manager) if server is not None else None
        if listening is not None:
            yield _gauge("qa_live_message_queue_listening", "1 when this worker is subscribed "
                         "to the message queue", 1 if listening else 0)
        yield _gauge("qa_live_leader", "1 when this worker holds the leader lease (summaries, "
                     "closing dead workers' visits)", 1 if lease.lease(self.app).leading() else 0)

    def _lags(self) -> Iterator[Metric]:
        state = realtime.of_app(self.app)
        log = state.visit_log
        with log.lock:
            pending = len(log.ops)
            oldest = log.ops[0][2] if log.ops else None
        yield _gauge("qa_live_visits_pending", "Joins and leaves recorded, not yet written",
                     pending)
        yield _gauge("qa_live_visits_pending_age_seconds", "Age of the oldest join or leave "
                     "not yet written",
                     (utcnow() - oldest).total_seconds() if oldest is not None else 0)
        with realtime.summary_lock:
            marks = len(realtime.dirty_counts)
        yield _gauge("qa_live_summary_marks_pending", "Sessions whose counters changed since "
                     "this worker's last summary round", marks)
        rounds = _gauge("qa_live_loop_round_age_seconds", "Seconds since each background loop "
                        "last finished a round (its interval is the normal value)",
                        labels=["loop"])
        now = time.monotonic()
        for name, (ended, _interval) in sorted(state.rounds.items()):
            rounds.add_metric([name], now - ended)
        yield rounds

    def _dependencies(self) -> Iterator[Metric]:
        failing = _gauge("qa_live_failing", "1 for each thing failing now (a dependency, or a "
                         "loop meeting one), as logged", labels=["what"])
        with troubles(self.app).lock:
            names = sorted(troubles(self.app).failing)
        for name in names:
            failing.add_metric([name], 1)
        yield failing

    def _pool(self) -> Iterator[Metric]:
        pool: Any = db.engine.pool
        size, checkedin, checkedout = (getattr(pool, name, None)
                                       for name in ("size", "checkedin", "checkedout"))
        if not (callable(size) and callable(checkedin) and callable(checkedout)):
            return  # a pool without these (SQLite in memory): nothing to say
        yield _gauge("qa_live_db_pool_size", "Connections the database pool keeps open",
                     float(size()))
        yield _gauge("qa_live_db_pool_connections", "Database connections open now (beyond "
                     "the size: overflow, up to SQLAlchemy's max_overflow)",
                     float(checkedin() + checkedout()))
        yield _gauge("qa_live_db_pool_checked_out", "Database connections in use now",
                     float(checkedout()))
