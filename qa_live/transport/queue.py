"""The Redis message queue's listener subscribes again within a second of Redis coming back.

python-socketio's RedisManager, on losing Redis, retries its subscription after 1, 2, 4, … up
to 60 seconds. After a Redis restart a worker then hears nothing the other workers publish for
as long as its current pause lasts (up to a minute): its citizens' pages heal by the seq
heartbeat (qa_live/live/heartbeat.py), but its staff consoles miss changes until it is back.
Here the retry comes every RETRY_S instead: a connection attempt a second per worker while
Redis is down, and everything flows again about a second after it is up.

It overrides a private generator of python-socketio (``_redis_listen_with_retries``, with
``_redis_connect``, ``pubsub`` and ``channel``), verified against python-socketio's versions in
compat.VERIFIED (the one table of verified versions); on any other version the library's own
retry runs (the stock path), and docs/realtime.md's upgrade checklist names it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import socketio

from qa_live.transport.compat import VERIFIED

RETRY_S = 1.0


def verified() -> bool:
    """Whether the installed python-socketio is one this override was checked against."""
    try:
        installed = version("python-socketio")
    except PackageNotFoundError:
        return False
    base = socketio.RedisManager
    return installed in VERIFIED["python-socketio"] and all(
        hasattr(base, name) for name in ("_redis_listen_with_retries", "_redis_connect"))


class PromptResubscribe:
    """A mixin before python-socketio's RedisManager: a steady one-second retry."""

    def _redis_listen_with_retries(self) -> Iterator[Any]:
        if not verified():
            yield from super()._redis_listen_with_retries()  # type: ignore[misc]
            return
        manager: Any = self
        subscribed = False
        while True:
            try:
                if not subscribed:
                    manager._redis_connect()
                    manager.pubsub.subscribe(manager.channel)
                    subscribed = True
                    manager.qa_live_listening = True  # what /readyz reads (listening())
                yield from manager.pubsub.listen()
            except Exception as exc:  # the same line as the library's (heartbeat.py reads it)
                manager.qa_live_listening = False
                manager._get_logger().error(
                    f"Cannot receive from redis... retrying in {RETRY_S:g} secs",
                    extra={"redis_exception": str(exc)})
                subscribed = False
                time.sleep(RETRY_S)


def resubscribing(queue_class: type[socketio.Manager]) -> type[socketio.Manager]:
    """The Redis manager class with the prompt retry (other queues as they are)."""
    if not issubclass(queue_class, socketio.RedisManager):
        return queue_class
    return type(f"Prompt{queue_class.__name__}", (PromptResubscribe, queue_class), {})


def start_listening(server: Any) -> None:
    """Start the message queue's listener now rather than at the first socket connect.

    python-socketio starts it (``manager.initialize()``) when the first client connects; a
    worker that is ready before anyone connects is subscribed already (wsgi.py, /readyz).
    """
    if getattr(server, "manager_initialized", True):
        return
    server.manager_initialized = True
    server.manager.initialize()


def listening(manager: Any) -> bool | None:
    """Whether this worker is subscribed to the message queue now (None: cannot tell, on
    python-socketio's own retry loop, or no listener of ours)."""
    return getattr(manager, "qa_live_listening", None)
