"""This process's background loops: counters and poll summaries, writing visits in batches."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from qa_live.extensions import socketio
from qa_live.live import realtime
from qa_live.live.poll_results import flush_poll_results
from qa_live.live.summaries import flush_summaries
from qa_live.live.visits import flush_visits


def start_loops(app: Flask) -> None:
    """Start this process's loops for the app, once: summaries, and writing visits in batches."""
    if id(app) in realtime.loops_started:
        return
    realtime.loops_started.add(id(app))

    def every(interval: float, work: Callable[[], None], what: str) -> None:
        def loop() -> None:
            while True:
                socketio.sleep(interval)
                with app.app_context():
                    try:
                        work()
                    except Exception:  # keep the loop alive; the next round retries
                        app.logger.exception("%s failed", what)

        socketio.start_background_task(loop)

    if app.config["SUMMARY_INTERVAL_S"] > 0:
        every(app.config["SUMMARY_INTERVAL_S"], flush_summaries, "summary flush")
        every(app.config["SUMMARY_INTERVAL_S"], flush_poll_results, "poll results")
    if app.config["VISIT_FLUSH_INTERVAL_S"] > 0:
        every(app.config["VISIT_FLUSH_INTERVAL_S"], flush_visits, "writing visits")
