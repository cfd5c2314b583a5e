"""What stats hooks into lower packages when the app is made (create_app's _connect_receivers).

Its background loop: each round counts the sessions whose stored figures went stale
(stats.refresh), every ``STATS_REFRESH_INTERVAL_S`` seconds, on the leader only.
"""

from __future__ import annotations

from qa_live.live.loops import register_loop
from qa_live.stats import refresh


def connect() -> None:
    """Register the statistics refresher among the process's background loops."""
    register_loop("STATS_REFRESH_INTERVAL_S", refresh.refresh_round, "statistics refresh")
