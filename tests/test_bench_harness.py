"""`make bench-quick`'s code path, once, at a tiny size: the harness must not rot (issue 7).

Speed is not checked here (that is what `make bench` is for): only that every scenario runs
against qa_live and the references and writes sane records. Node's socket.io reference runs when
`node` is installed (it is in CI); without it that server is left out, saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.live_server import ROOT

pytestmark = pytest.mark.slow

NODE_DIR = ROOT / "bench" / "node"


def _node_available() -> str | None:
    """None when the Node reference can run; else why not (npm ci is tried once if needed)."""
    if shutil.which("node") is None:
        return "node is not installed"
    if (NODE_DIR / "node_modules" / "socket.io").exists():
        return None
    if shutil.which("npm") is None:
        return "npm is not installed (bench/node/node_modules is missing)"
    done = subprocess.run(["npm", "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund",
                           "--loglevel=error"], capture_output=True, text=True, timeout=180,
                          check=False)
    if done.returncode:
        return f"npm ci --prefix bench/node failed: {done.stderr.strip()[-300:]}"
    return None


def test_bench_quick_code_path_writes_sane_records(tmp_path):
    servers = ["qa_live", "python-socketio-gevent"]
    why_no_node = _node_available()
    if why_no_node is None:
        servers.append("node-socketio")
    else:
        print(f"node-socketio left out: {why_no_node}")
    out = tmp_path / "bench.json"
    command = [
        sys.executable, str(ROOT / "bench" / "harness.py"), "--out", str(out),
        "--clients", "20", "--stages", "8", "--publishes", "2", "--gap", "0.05", "--wait", "10",
        "--join-wait", "30", "--servers", ",".join(servers), "--qa-live-configs", "gevent",
        "--intake-rate", "10", "--intake-seconds", "2", "--step-rates", "20",
        "--step-seconds", "1", "--settle", "5",
        "--stats-questions", "300", "--stats-databases", "sqlite",
        "--search-questions", "300", "--search-databases", "sqlite",
        "--flood-seconds", "1.5", "--flood-kinds", "events,oversized",
        "--storm-clients", "12", "--target-intake-rate", "15", "--session-clients", "30",
    ]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=240, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["machine"]["cpus"] >= 1
    runs = result["runs"]
    skipped = [r for r in runs if "skipped" in r]
    assert not skipped, [(r["scenario"], r.get("config"), r["skipped"]) for r in skipped]

    def one(scenario: str, server: str, **match: object) -> dict:
        found = [r for r in runs if r["scenario"] == scenario and r["server"] == server
                 and all(r.get(k) == v for k, v in match.items())]
        assert len(found) == 1, (scenario, server, match, runs)
        return found[0]

    for server in servers:
        config = "1proc-sqlite-gevent" if server == "qa_live" else "1proc"
        page = one("http", server, path="/")
        assert page["delivered"] == page["expected"] == 20 and page["failures"] == 0
        assert 0 < page["min_ms"] <= page["p50_ms"] <= page["max_ms"]
        if server == "qa_live":
            assert one("http", server, path="/s/demo-11")["delivered"] == 20
            assert one("http", server, path="/api/v1/sessions/demo-11")["delivered"] == 20
        # Two audience sizes, each a storm from none: 8 citizens, they hang up, then 20.
        first = one("connect", server, clients=8)
        assert first["config"] == config
        assert first["delivered"] == first["expected"] == 8 and first["failures"] == 0
        connect = one("connect", server, clients=20)
        assert connect["config"] == config
        assert connect["delivered"] == connect["expected"] == 20
        assert connect["failures"] == 0 and connect["p99_ms"] > 0
        assert connect["dropped"] == 0  # hanging up the first 8 is not counted as drops

        small = one("fanout", server, clients=8)
        assert small["delivered"] == small["expected"] == 16 and small["lost"] == 0
        fanout = one("fanout", server, clients=20)
        # Every citizen of the second storm got each of its two publishes.
        assert fanout["delivered"] == fanout["expected"] == 40 and fanout["lost"] == 0
        assert fanout["p50_ms"] <= fanout["p99_ms"] <= fanout["max_ms"]
        assert fanout["dropped"] == 0
        # CPU counters tick every 10 ms: 40 messages may cost a relay less than one tick.
        assert fanout["cpu_us_per_msg"] >= 0 and fanout["rss_kb_per_client"] is not None

        steady = one("intake", server, phase="steady")
        assert steady["rate_per_s"] == 10 and steady["expected"] == 20
        assert steady["delivered"] == 20 and steady["failures"] == 0, steady
        assert steady["console_delivered"] == 20, steady  # every question reached the console
        assert 0 < steady["p50_ms"] <= steady["p99_ms"] <= steady["max_ms"]
        assert 0 < steady["console_p50_ms"] <= steady["console_max_ms"]
        assert "max_rate_held_per_s" in steady
        step = one("intake", server, phase="step")
        assert step["rate_per_s"] == 20 and step["expected"] == 20
        if server == "qa_live":  # counted in its database: acknowledged means stored
            assert steady["lost"] == 0 and steady["stored"] == 20
            assert step["lost"] == 0
            # Issue 17's intake rate, after the steady run, on qa_live's first configuration
            # only: 2 s at 15 a second, every question acknowledged and stored.
            target = one("intake", server, phase="target")
            assert target["rate_per_s"] == 15 and target["expected"] == 30, target
            assert target["delivered"] == target["stored"] == 30 and target["lost"] == 0
        else:
            assert not [r for r in runs if r["server"] == server and r.get("phase") == "target"]

    # One session on one process (issue 17's 20,000, here 30): qa_live alone, from none, each
    # citizen got each publish.
    alone = one("connect", "qa_live", phase="one-session")
    assert alone["clients"] == alone["delivered"] == 30 and alone["failures"] == 0, alone
    alone = one("fanout", "qa_live", phase="one-session")
    assert alone["delivered"] == alone["expected"] == 60 and alone["lost"] == 0, alone
    assert alone["nofile"] > 0 and alone["config"] == "1proc-sqlite-gevent"

    # The flood scenario: the well-behaved citizen was answered during each flood (delivery,
    # not speed), and the flooders were heard: an oversized frame closes its socket at once; an
    # event flooder is refused only after its first 30 events were served in full, which 1.5 s
    # on a loaded machine may not reach (the refusals themselves are tested in
    # tests/test_floods_and_fuzz.py), so here its events were answered or refused.
    for kind in ("events", "oversized"):
        flood = one("flood", "qa_live", flood=kind)
        assert flood["delivered"] > 0 and flood["baseline_p99_ms"] is not None, flood
        assert flood["flood_sent"] > 0, flood
        assert not flood.get("server_exited"), flood  # the flood did not bring the server down
        if kind == "oversized":
            assert flood["flood_refused"] + flood["flood_closed"] > 0, flood
        else:
            assert flood["flood_accepted"] + flood["flood_refused"] > 0, flood

    stats = one("stats", "qa_live")
    assert stats["config"] == "1proc-sqlite" and stats["questions"] in (299, 300)
    assert stats["p50_ms"] > 0 and stats["fill_seconds"] > 0
    # reports as of a past day: the first after later changes, and one before the next round
    assert stats["as_of_first_ms"] > 0 and stats["as_of_before_round_ms"] > 0, stats
    searches = [r for r in runs if r["scenario"] == "search"]
    assert {r["query"] for r in searches} >= {"外贸", "企", "不在档案里的词"}
    assert all(r["p50_ms"] > 0 and r["index_seconds"] >= 0 for r in searches)
    assert next(r for r in searches if r["query"] == "不在档案里的词")["hits"] == 0

    # A crowd arriving: 12 new visitors each got the live page, gzip, with a cookie, then 12
    # others loaded it and joined with the cookie it set; Node's socket-only storm beside it.
    pages = one("storm-pages", "qa_live", phase="pages")
    assert pages["delivered"] == pages["expected"] == 12 and pages["failures"] == 0, pages
    assert pages["encodings"] == {"gzip": 12} and pages["without_cookie"] == 0, pages
    assert pages["cpu_ms_per_page"] is not None and pages["cpu_ms_total"] >= 0
    joined = one("storm-pages", "qa_live", phase="page-then-join")
    assert joined["pages"] == joined["delivered"] == joined["expected"] == 12, joined
    assert joined["failures"] == 0 and joined["seconds"] > 0
    if "node-socketio" in servers:
        node = one("storm-pages", "node-socketio", phase="node-connect")
        assert node["delivered"] == node["expected"] == 12, node
        assert joined["vs_node"] > 0
