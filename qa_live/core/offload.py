"""Run CPU-heavy work (decoding and encoding photos) off the event loop.

Under gevent or eventlet every socket of a worker shares one OS thread: a photo's decode and six
encodes (a second or more for a large one) would hold every citizen's socket still meanwhile.
Pillow releases the GIL while it codes, so a real thread lets the loop run on. Under threads
(`flask run`, the tests) the work simply runs in place.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

from flask import copy_current_request_context, current_app, has_app_context, has_request_context

T = TypeVar("T")


def _with_context(fn: Callable[..., T]) -> Callable[..., T]:
    """fn, run inside a copy of the caller's request (or app) context: messages translate."""
    if has_request_context():
        return copy_current_request_context(fn)
    if has_app_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]

        def in_app(*args: Any) -> T:
            with app.app_context():
                return fn(*args)

        return in_app
    return fn


def run_blocking(fn: Callable[..., T], *args: Any) -> T:
    """Call fn(*args) in a real thread when an async library patched this process."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("socket"):
        import gevent

        return gevent.get_hub().threadpool.apply(_with_context(fn), args)
    patcher = sys.modules.get("eventlet.patcher")
    if patcher is not None and patcher.is_monkey_patched("socket"):
        from eventlet import tpool

        return tpool.execute(_with_context(fn), *args)
    return fn(*args)
