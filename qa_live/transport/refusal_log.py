"""One log line per refusal, but not a line per packet of a flood.

Every refusal at the edge is logged in one line (logger ``qa_live.edge``), never a traceback.
A flood would turn that into thousands of lines a second (a disk filled is a refusal that
costs more than serving), so the same kind of refusal from the same address is logged at most
once per INTERVAL_S; the next line says how many were left out meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time

logger = logging.getLogger("qa_live.edge")

INTERVAL_S = 10.0
_KEPT = 10_000  # (address, kind) pairs remembered; the table is emptied when it grows past it

_lock = threading.Lock()
_last: dict[tuple[str, str], list[float | int]] = {}


def refused(address: object, kind: str, message: str, *args: object) -> None:
    """Log `message % args` (about `address`), unless that kind was logged just before."""
    key = (str(address), kind)
    now = time.monotonic()
    with _lock:
        seen = _last.get(key)
        if seen is not None and now - seen[0] < INTERVAL_S:
            seen[1] += 1
            return
        left_out = int(seen[1]) if seen is not None else 0
        if len(_last) >= _KEPT:
            _last.clear()
        _last[key] = [now, 0]
    if left_out:
        message += " (and %d more like it in the last %g s)"
        args = (*args, left_out, INTERVAL_S)
    logger.warning(message, *args)
