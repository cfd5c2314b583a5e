"""Distinct citizens without 10,000 page loads: sign visitor cookies with the app's own helper.

qa_live identifies a citizen by the signed ``qa_visitor`` cookie (qa_live/core/visitor.py). The
bench starts the server with a SECRET_KEY it chose, so it can sign as many visitor ids as it
needs with the very serializer the app reads them with, and checks one round trip with the app's
public ``read_visitor_id`` so a change of salt or format fails loudly here instead of every
citizen being refused with ``no_visitor``.

    cookies = visitor_cookies(secret_key, 10_000, tag="a1b2c3")   # ["qa_visitor=...", ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def visitor_id(tag: str, index: int) -> str:
    """The visitor id of simulated citizen ``index`` in run ``tag`` (16-64 characters)."""
    return f"bench-{tag}-{index:07d}"


def visitor_cookies(secret_key: str, count: int, tag: str) -> list[str]:
    """``count`` Cookie header values, one distinct visitor each, signed for ``secret_key``."""
    from flask import Flask

    from qa_live.core import visitor

    app = Flask("qa_live_bench_visitors")
    app.config["SECRET_KEY"] = secret_key
    with app.app_context():
        values = [visitor.sign_visitor_id(visitor_id(tag, i)) for i in range(count)]
        if values and visitor.read_visitor_id(values[0]) != visitor_id(tag, 0):
            raise RuntimeError("qa_live.core.visitor does not read back the cookie signed here")
    return [f"{visitor.COOKIE}={value}" for value in values]
