"""What stats hooks into lower packages when the app is made (create_app's _connect_receivers).

Its background loop: each round counts the sessions whose stored figures went stale
(stats.refresh), every ``STATS_REFRESH_INTERVAL_S`` seconds, on the leader only; and its flush
listeners, which keep stored figures current as rows are written (stats.maintained).
"""

from __future__ import annotations

from qa_live.live.loops import register_loop
from qa_live.stats import maintained, refresh


def connect() -> None:
    """Register the statistics refresher among the process's background loops, and keep the
    stored figures current as questions, answers and ratings are written (stats.maintained)."""
    register_loop("STATS_REFRESH_INTERVAL_S", refresh.refresh_round, "statistics refresh")
    maintained.connect()
