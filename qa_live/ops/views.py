"""Per-worker health for an operator and for nginx/systemd: /healthz, /readyz, /metrics.

- ``GET /healthz``: liveness. 200 whenever the process serves requests at all (it checks
  nothing else): systemd or a supervisor restarts a worker that stops answering it.
- ``GET /readyz``: readiness. 200 when this worker can do its whole job: the database answers,
  Redis answers (with a message queue), this worker is subscribed to the message queue, and its
  background loops (heartbeat, summaries, visit batches) have run within three of their
  intervals; else 503 with what is wrong. The first call starts what has not started yet
  (wsgi.py starts it all before listening). The systemd unit waits for it after a start, so a
  rolling restart never takes the next worker down before this one is ready.
- ``GET /metrics``: Prometheus text (qa_live/ops/metrics.py), only to addresses in
  METRICS_ALLOWED_NETWORKS (loopback by default); 404 to anyone else.

None of them touches the session cookie or the visitor cookie.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, jsonify
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from qa_live.core.access import address_allowed
from qa_live.core.outages import describe
from qa_live.extensions import db, socketio
from qa_live.live import heartbeat, lease, realtime, workers
from qa_live.live.loops import start_loops
from qa_live.ops import metrics
from qa_live.transport import queue

bp = Blueprint("ops", __name__)
#: A loop is late when its last round ended more than this many intervals ago (and 5 s).
LATE_ROUNDS = 3.0


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Liveness: this process answers."""
    return jsonify(status="ok", worker=workers.me().id)


def _database() -> dict[str, Any]:
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True}
    except Exception as exc:  # whatever it is, the worker is not ready
        return {"ok": False, "error": describe(exc)}
    finally:
        try:
            db.session.rollback()
        except Exception:  # noqa: S110 - the connection may be gone too
            pass


def _redis(app: Flask) -> dict[str, Any] | None:
    held = lease.lease(app)
    if not held.shared:
        return None
    try:
        held.client().ping()
        return {"ok": True}
    except Exception as exc:  # unreachable, timed out, refused
        return {"ok": False, "error": describe(exc)}


def _listening() -> dict[str, Any] | None:
    server = getattr(socketio, "server", None)
    if server is None or heartbeat.queue_watch() is None:
        return None
    queue.start_listening(server)
    subscribed = queue.listening(server.manager)
    if subscribed is None:  # python-socketio's own retry loop (unverified version)
        return {"ok": True, "note": "not observable on this python-socketio version"}
    return {"ok": subscribed}


def _loops(app: Flask) -> dict[str, Any]:
    start_loops(app)
    expected = {"heartbeat": app.config["HEARTBEAT_INTERVAL_S"],
                "summary flush": app.config["SUMMARY_INTERVAL_S"],
                "writing visits": app.config["VISIT_FLUSH_INTERVAL_S"]}
    rounds = realtime.of_app(app).rounds
    now = time.monotonic()
    report: dict[str, Any] = {"ok": True}
    for name, interval in expected.items():
        if float(interval) <= 0:
            continue  # off (tests drive it)
        ran = rounds.get(name)
        age = None if ran is None else round(now - ran[0], 1)
        report[name] = age
        if age is None or age > max(LATE_ROUNDS * float(interval), 5.0):
            report["ok"] = False
    return report


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Readiness: database, Redis, the message queue's subscription, the background loops."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    checks: dict[str, Any] = {"database": _database(), "loops": _loops(app)}
    for name, found in (("redis", _redis(app)), ("message_queue", _listening())):
        if found is not None:
            checks[name] = found
    ready = all(check["ok"] for check in checks.values())
    body = jsonify(status="ready" if ready else "not ready", worker=workers.me().id,
                   checks=checks)
    if ready:
        return body, 200
    # 503 as every other "for the moment" answer of the app (tests/test_outage_contract.py).
    return body, 503, {"Retry-After": "5"}


@bp.get("/metrics")
def prometheus() -> ResponseReturnValue:
    """Prometheus text, to the networks in METRICS_ALLOWED_NETWORKS only."""
    if not address_allowed(current_app.config["METRICS_ALLOWED_NETWORKS"]):
        abort(404)
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return Response(generate_latest(metrics.of_app(app).registry), mimetype=CONTENT_TYPE_LATEST)
