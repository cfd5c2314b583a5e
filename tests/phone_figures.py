"""How a citizen's phone fares: bytes sent, and times on a slow 3G line with a slow CPU.

Used by tests/test_browser_phone_figures.py (which records the figures for docs/performance.md)
and usable by hand against any server::

    .venv/bin/python -m tests.phone_figures http://127.0.0.1:5000/s/demo-11

The line is Chromium's own network emulation (DevTools protocol): 400 ms added to every request,
400 kbit/s down and up; the CPU is slowed 4×. Times count from the start of the navigation:

* ``dcl``: DOMContentLoaded (the HTML is parsed, the page readable);
* ``usable``: the page's script has taken over (``window.qaStream`` exists: asking and voting
  work from here, over the socket or, without it, the plain forms);
* ``joined``: the live connection has joined the session (``qaStream.joined``): the page is live.

Each is read by a poller the page runs every 20 ms from its first script, so it works with any
version of the page's scripts.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, CDPSession, Page

LATENCY_MS = 400
KBIT_PER_S = 400
CPU_SLOWDOWN = 4

_POLLER = """
(() => {
  const started = performance.now();
  const seen = {};
  const tick = () => {
    const now = performance.now();
    if (!seen.usable && window.qaStream) seen.usable = now;
    if (!seen.joined && window.qaStream && window.qaStream.joined) seen.joined = now;
    window.__qaFigures = seen;
    if (!seen.joined && now - started < 60000) setTimeout(tick, 20);
  };
  tick();
})();
"""


@dataclass
class Visit:
    """One page load: milliseconds from navigation start, and bytes over the wire."""

    dcl: float | None = None
    usable: float | None = None
    joined: float | None = None
    bytes_http: int = 0
    bytes_ws_down: int = 0
    bytes_ws_up: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)


def throttle(page: Page, cpu: float = CPU_SLOWDOWN, latency_ms: float = LATENCY_MS,
             kbit_per_s: float = KBIT_PER_S) -> CDPSession:
    """Put the page on the slow line and CPU; return the DevTools session."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    rate = kbit_per_s * 1000 / 8
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": latency_ms, "downloadThroughput": rate,
        "uploadThroughput": rate, "connectionType": "cellular3g"})
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu})
    return cdp


def visit(context: BrowserContext, url: str, slow: bool = True,
          timeout_s: float = 30.0) -> Visit:
    """Open url in a new page of context (its cache as it is) and measure until joined."""
    page = context.new_page()
    page.add_init_script(_POLLER)
    result = Visit()
    cdp = throttle(page) if slow else _plain_cdp(page)
    urls: dict[str, str] = {}

    def on_request(event: dict[str, Any]) -> None:
        urls[event["requestId"]] = event["request"]["url"]

    def on_finished(event: dict[str, Any]) -> None:
        size = int(event.get("encodedDataLength") or 0)
        result.bytes_http += size
        result.requests.append({"url": urls.get(event["requestId"], "?"), "bytes": size})

    def on_ws(direction: str) -> Any:
        def handler(event: dict[str, Any]) -> None:
            size = len((event.get("response") or {}).get("payloadData", "").encode())
            if direction == "down":
                result.bytes_ws_down += size
            else:
                result.bytes_ws_up += size
        return handler

    cdp.on("Network.requestWillBeSent", on_request)
    cdp.on("Network.loadingFinished", on_finished)
    cdp.on("Network.webSocketFrameReceived", on_ws("down"))
    cdp.on("Network.webSocketFrameSent", on_ws("up"))
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    figures: dict[str, float] = {}
    while time.monotonic() < deadline:
        figures = page.evaluate("window.__qaFigures || {}")
        if "joined" in figures:
            break
        time.sleep(0.1)
    timing = page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " return n ? {dcl: n.domContentLoadedEventEnd} : {}; })()")
    result.dcl = timing.get("dcl")
    result.usable = figures.get("usable")
    result.joined = figures.get("joined")
    page.wait_for_timeout(300)  # let the last loadingFinished events arrive
    page.close()
    return result


def _plain_cdp(page: Page) -> CDPSession:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    return cdp


def summary(visits: list[Visit]) -> dict[str, Any]:
    """Median, min and max of each time; median bytes."""
    out: dict[str, Any] = {"runs": len(visits)}
    for name in ("dcl", "usable", "joined"):
        values = [getattr(v, name) for v in visits if getattr(v, name) is not None]
        if values:
            out[name] = {"median_ms": round(statistics.median(values)),
                         "min_ms": round(min(values)), "max_ms": round(max(values))}
        else:
            out[name] = None
    for name in ("bytes_http", "bytes_ws_down", "bytes_ws_up"):
        out[name] = int(statistics.median(getattr(v, name) for v in visits))
    return out


def measure(browser: Browser, url: str, runs: int = 3, **context_options: Any) -> dict[str, Any]:
    """First visits (empty cache) and repeat visits (cache kept), each `runs` times."""
    from tests.live_server import PHONE

    first, repeat = [], []
    for _ in range(runs):
        context = browser.new_context(**{**PHONE, **context_options})
        try:
            first.append(visit(context, url))
            repeat.append(visit(context, url))
        finally:
            context.close()
    return {"url": url, "first_visit": summary(first), "repeat_visit": summary(repeat),
            "first_visit_requests": first[-1].requests}


def main(argv: list[str]) -> int:
    """Measure a page by hand and print the figures as JSON."""
    from playwright.sync_api import sync_playwright

    from tests.live_server import CHROMIUM_ARGS

    url = argv[1]
    runs = int(argv[2]) if len(argv) > 2 else 3
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            print(json.dumps(measure(browser, url, runs), indent=2, ensure_ascii=False))
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))


__all__ = ["Visit", "asdict", "measure", "summary", "throttle", "visit"]
