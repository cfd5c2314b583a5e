"""This process's background loops: counters and poll summaries, writing visits in batches,
heartbeat."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Flask

from qa_live.core.outages import is_unavailable, troubles
from qa_live.extensions import socketio
from qa_live.live import heartbeat, realtime
from qa_live.live.poll_results import flush_poll_results
from qa_live.live.summaries import flush_summaries
from qa_live.live.visits import flush_visits

#: Loops of higher packages (stats' refresher), registered when the app is made:
#: (the config key of the interval in seconds, 0 = off; the work; its name for logs and /readyz).
extra_loops: list[tuple[str, Callable[[], object], str]] = []


def register_loop(interval_key: str, work: Callable[[], object], what: str) -> None:
    """Run ``work`` every ``app.config[interval_key]`` seconds in this process's loops (once)."""
    if all(name != what for _key, _work, name in extra_loops):
        extra_loops.append((interval_key, work, what))


def start_loops(app: Flask) -> None:
    """Start this process's loops for the app, once: summaries, and writing visits in batches."""
    if id(app) in realtime.loops_started:
        return
    realtime.loops_started.add(id(app))
    heartbeat.start(app)

    def every(interval: float, work: Callable[[], object], what: str) -> None:
        def loop() -> None:
            while True:
                socketio.sleep(interval)
                with app.app_context():
                    try:
                        work()
                    except Exception as exc:  # keep the loop alive; the next round retries
                        if is_unavailable(exc):  # one line when it starts, one when it ends
                            troubles(app).failed(what, exc)
                        else:
                            app.logger.exception("%s failed", what)
                    else:
                        troubles(app).recovered(what)
                    realtime.of_app(app).rounds[what] = (time.monotonic(), interval)

        # Started counts as on time (/readyz): the first round ends one interval from now.
        realtime.of_app(app).rounds[what] = (time.monotonic(), interval)
        socketio.start_background_task(loop)

    if app.config["SUMMARY_INTERVAL_S"] > 0:
        every(app.config["SUMMARY_INTERVAL_S"], flush_summaries, "summary flush")
        every(app.config["SUMMARY_INTERVAL_S"], flush_poll_results, "poll results")
    if app.config["VISIT_FLUSH_INTERVAL_S"] > 0:
        every(app.config["VISIT_FLUSH_INTERVAL_S"], flush_visits, "writing visits")
    for interval_key, work, what in extra_loops:
        if app.config.get(interval_key, 0) > 0:
            every(app.config[interval_key], work, what)
