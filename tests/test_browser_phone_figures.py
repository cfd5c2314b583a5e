"""The citizen's phone in figures: the live page's weight, its times on slow 3G, and axe-core's
accessibility check of the public pages in the standard, elder-friendly and dark views.

These tests measure and record; they assert only that the figures are sane (a page that loads,
joins and passes axe's serious and critical rules), never a speed. The figures go to
test-artifacts/figures/phone.json (and the test's output); docs/performance.md quotes them.
Run them alone with ``pytest -m figures``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests import phone_figures
from tests import services as outside
from tests.live_server import (  # noqa: F401 - demo_server is a pytest fixture
    PHONE,
    ROOT,
    LiveServer,
    demo_server,
)

pytestmark = [pytest.mark.browser, pytest.mark.figures, pytest.mark.slow]

FIGURES = ROOT / "test-artifacts" / "figures" / "phone.json"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
LIVE = "demo-11"


def record(key: str, value: Any) -> None:
    """Add one measurement to test-artifacts/figures/phone.json and print it."""
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    data[key] = value
    FIGURES.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    print(f"\n{key}: {json.dumps(value, ensure_ascii=False)}")


def test_the_live_page_weight_as_sent(browser, demo_server: LiveServer):
    context = browser.new_context(**PHONE)
    try:
        first = phone_figures.visit(context, f"{demo_server.url}/s/{LIVE}", slow=False)
        repeat = phone_figures.visit(context, f"{demo_server.url}/s/{LIVE}", slow=False)
    finally:
        context.close()
    assert first.joined is not None and repeat.joined is not None
    by_kind: dict[str, int] = {}
    for request in first.requests:
        path = request["url"].split("?")[0]
        kind = ("socket" if "/socket.io/" in path else "html" if "/static/" not in path
                else path.rsplit(".", 1)[-1])
        by_kind[kind] = by_kind.get(kind, 0) + request["bytes"]
    record("weight", {"first_visit_bytes": first.bytes_http, "by_kind": by_kind,
                      "repeat_visit_bytes": repeat.bytes_http,
                      "requests": [r["url"].removeprefix(demo_server.url) for r in
                                   first.requests]})
    # Sanity only: compressed pages and assets stay well under the uncompressed 118 KB.
    assert 10_000 < first.bytes_http < 100_000
    assert repeat.bytes_http < first.bytes_http / 2  # assets come from the cache, unasked


def test_the_live_page_on_slow_3g(browser, demo_server: LiveServer):
    figures = phone_figures.measure(browser, f"{demo_server.url}/s/{LIVE}", runs=3)
    figures.pop("first_visit_requests")
    figures["line"] = {"latency_ms": phone_figures.LATENCY_MS,
                       "kbit_per_s": phone_figures.KBIT_PER_S,
                       "cpu_slowdown": phone_figures.CPU_SLOWDOWN}
    record("slow_3g", figures)
    for visit in ("first_visit", "repeat_visit"):
        assert figures[visit]["joined"] is not None, f"{visit}: never joined"
        assert figures[visit]["usable"]["max_ms"] < 30_000  # sane, not a speed target


# axe-core ----------------------------------------------------------------------------------------


def _axe_source() -> str:
    outside.need("axe-core", AXE.exists(),
                 f"{AXE.relative_to(ROOT)} is missing (make test installs it from npm)")
    return AXE.read_text(encoding="utf-8")


def _question_link(server: LiveServer, browser) -> str:
    """A citizen's private link (/q/…), made by asking in advance through the API."""
    context = browser.new_context(base_url=server.url)
    try:
        response = context.request.post(
            "/api/v1/sessions/demo-12/questions",
            data=json.dumps({"text": "无障碍检查用的预先提问，有没有补贴？",
                             "client_id": str(uuid.uuid4())}),
            headers={"Content-Type": "application/json"})
        assert response.ok, response.text()
        return response.json()["question"]["link"]
    finally:
        context.close()


VIEWS = {
    "standard": {},
    "elder": {"cookie": "elder"},
    "dark": {"color_scheme": "dark"},
}


def test_axe_finds_nothing_serious_on_the_public_pages(browser, demo_server: LiveServer):
    source = _axe_source()
    pages = ["/", f"/s/{LIVE}", "/s/demo-12", "/s/demo-10", "/archive?q=补贴",
             _question_link(demo_server, browser), f"/s/{LIVE}/screen", "/login"]
    results: dict[str, Any] = {}
    serious: list[str] = []
    for view, options in VIEWS.items():
        context = browser.new_context(**PHONE, bypass_csp=True,
                                      color_scheme=options.get("color_scheme", "light"))
        if "cookie" in options:
            context.add_cookies([{"name": "display", "value": options["cookie"],
                                  "url": demo_server.url}])
        try:
            page = context.new_page()
            for path in pages:
                page.goto(demo_server.url + path)
                if path.startswith("/s/demo-11"):
                    page.wait_for_function("() => window.qaStream && window.qaStream.joined")
                page.add_script_tag(content=source)
                found = page.evaluate("""async () => {
                    const r = await axe.run(document, {resultTypes: ['violations']});
                    return r.violations.map((v) => ({id: v.id, impact: v.impact,
                        nodes: v.nodes.length,
                        where: v.nodes.slice(0, 3).map((n) => n.target.join(' '))}));
                }""")
                label = "/q/…" if path.startswith("/q/") else path.split("?")[0]
                results[f"{view} {label}"] = found
                serious += [f"{view} {path}: {v['id']} ({v['impact']}) at {v['where']}"
                            for v in found if v["impact"] in ("serious", "critical")]
        finally:
            context.close()
    summary = {key: {v["id"]: v["impact"] for v in found} for key, found in results.items()}
    record("axe", {"pages": len(pages), "views": list(VIEWS), "violations": summary,
                   "serious_or_critical": len(serious)})
    assert serious == [], "\n".join(serious)

