"""Markdown tables (with ratios to the references) from a results file of bench/harness.py.

    python bench/report.py bench/results/<date>-<name>.json

Prints one table per scenario: qa_live's figures in each configuration and the references',
and qa_live's ratio to each reference measured in the same run (p99 latency, CPU per message,
memory per citizen, time for all to connect). What docs/performance.md's tables are made from.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REFERENCES = {"python-socketio-gevent": "gevent relay", "python-socketio-eventlet":
              "eventlet relay", "node-socketio": "Node"}


def fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, float | int):
        return f"{value:,.{digits}f}"
    return str(value)


def ratio(mine: Any, theirs: Any) -> str:
    if not isinstance(mine, int | float) or not isinstance(theirs, int | float) or not theirs:
        return "–"
    return f"{mine / theirs:.2f}"


def label(record: dict[str, Any]) -> str:
    if record["server"] == "qa_live":
        return f"qa_live {record['config']}"
    return record["server"]


def table(runs: list[dict[str, Any]], scenario: str, columns: list[tuple[str, str, int]],
          ratio_fields: list[tuple[str, str]], where: dict[str, Any] | None = None) -> str:
    rows = [r for r in runs if r["scenario"] == scenario and "skipped" not in r
            and all(r.get(k) == v for k, v in (where or {}).items())]
    if not rows:
        return ""
    # Ratios are to the reference measured with as many citizens (a run may have several sizes).
    refs = {(r["server"], r.get("clients")): r for r in rows if r["server"] in REFERENCES}
    measured = {server for server, _clients in refs}
    head = ["server", "citizens", *[title for _, title, _ in columns]]
    for _field, title in ratio_fields:
        head += [f"{title} ÷ {REFERENCES[s]}" for s in REFERENCES if s in measured]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    rows.sort(key=lambda r: (r.get("clients") or 0, r["server"] != "qa_live"))
    for r in rows:
        cells = [label(r), fmt(r.get("clients")),
                 *[fmt(r.get(field), digits) for field, _, digits in columns]]
        for field, _title in ratio_fields:
            for server in REFERENCES:
                if server in measured:
                    ref = refs.get((server, r.get("clients")))
                    cells.append(ratio(r.get(field), ref.get(field))
                                 if r["server"] == "qa_live" and ref else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(path: str) -> None:
    data = json.loads(Path(path).read_text())
    runs = data["runs"]
    print(f"{path}: {data['date']}, {data['clients']:,} clients, "
          f"{data['machine']['cpus']} cores, {data.get('seconds', '?')} s in all\n")
    sections = [
        ("Fan-out", table(runs, "fanout", [
            ("p50_ms", "p50 ms", 0), ("p99_ms", "p99 ms", 0), ("max_ms", "max ms", 0),
            ("delivered", "delivered", 0), ("expected", "expected", 0),
            ("cpu_us_per_msg", "CPU µs/msg", 1), ("rss_kb_per_client", "KB/citizen", 1),
            ("dropped", "dropped", 0)],
            [("p99_ms", "p99"), ("cpu_us_per_msg", "CPU")])),
        ("HTTP (one request at a time, nothing else connected)", table(runs, "http", [
            ("path", "path", 0), ("min_ms", "min ms", 1), ("p50_ms", "p50 ms", 1),
            ("max_ms", "max ms", 1), ("response_bytes", "bytes", 0)], [])),
        ("Connect", table(runs, "connect", [
            ("seconds", "all in (s)", 1), ("p50_ms", "p50 ms", 0), ("p99_ms", "p99 ms", 0),
            ("delivered", "joined", 0), ("failures", "failures", 0)],
            [("seconds", "time")])),
        ("Memory", table(runs, "fanout", [("rss_kb_per_client", "KB/citizen", 1),
                                          ("server_pids", "processes", 0)],
                         [("rss_kb_per_client", "memory")])),
        ("Intake (steady)", table(runs, "intake", [
            ("rate_per_s", "rate/s", 0), ("p50_ms", "ack p50", 1), ("p99_ms", "ack p99", 1),
            ("max_ms", "ack max", 0), ("console_p50_ms", "console p50", 1),
            ("console_p99_ms", "console p99", 1), ("expected", "asked", 0),
            ("delivered", "acked", 0), ("stored", "stored", 0), ("lost", "lost", 0),
            ("max_rate_held_per_s", "max rate p99<100ms", 0), ("dropped", "dropped", 0),
            ("cpu_us_per_msg", "CPU µs/question", 0)],
            [("p99_ms", "ack p99")], where={"phase": "steady"})),
        ("Intake at issue 17's rate (qa_live's first configuration)", table(runs, "intake", [
            ("rate_per_s", "rate/s", 0), ("p50_ms", "ack p50", 1), ("p99_ms", "ack p99", 1),
            ("max_ms", "ack max", 0), ("console_p99_ms", "console p99", 1),
            ("expected", "asked", 0), ("delivered", "acked", 0), ("stored", "stored", 0),
            ("lost", "lost", 0), ("send_lag_max_ms", "send lag max", 0),
            ("cpu_us_per_msg", "CPU µs/question", 0)], [], where={"phase": "target"})),
        ("One session, one process", table(runs, "fanout", [
            ("p50_ms", "p50 ms", 0), ("p99_ms", "p99 ms", 0), ("max_ms", "max ms", 0),
            ("delivered", "delivered", 0), ("expected", "expected", 0),
            ("cpu_us_per_msg", "CPU µs/msg", 1), ("rss_kb_per_client", "KB/citizen", 1),
            ("nofile", "open-file limit", 0)], [], where={"phase": "one-session"})),
        ("A crowd arriving (storm-pages)", table(runs, "storm-pages", [
            ("phase", "phase", 0), ("seconds", "all in (s)", 1), ("p50_ms", "p50 ms", 0),
            ("p99_ms", "p99 ms", 0), ("delivered", "done", 0), ("failures", "failures", 0),
            ("cpu_ms_per_page", "CPU ms/page", 2), ("cpu_ms_per_citizen", "CPU ms/citizen", 2),
            ("vs_node", "÷ Node's connect", 2)], [])),
        ("Floods (production limits)", table(runs, "flood", [
            ("flood", "flood", 0), ("baseline_p99_ms", "quiet p99 ms", 0),
            ("p99_ms", "flood p99 ms", 0), ("delay_p99_ms", "added p99 ms", 0),
            ("delivered", "samples", 0), ("expected", "expected", 0),
            ("flood_refused", "refused", 0), ("flood_closed", "closed", 0),
            ("server_exited", "server exited", 0)], [])),
        ("Intake (steps)", table(runs, "intake", [
            ("rate_per_s", "rate/s", 0), ("p50_ms", "ack p50", 1), ("p99_ms", "ack p99", 1),
            ("console_p99_ms", "console p99", 1), ("failures", "failures", 0),
            ("lost", "lost", 0)], [], where={"phase": "step"})),
        ("Statistics", table(runs, "stats", [
            ("questions", "questions", 0), ("p50_ms", "page p50 ms", 0),
            ("max_ms", "page max ms", 0), ("cold_ms", "first page ms", 0),
            ("first_after_import_ms", "first after import ms", 0),
            ("live_p50_ms", "live session p50 ms", 0),
            ("uncounted_ms", "before the round after a bulk load ms", 0),
            ("as_of_first_ms", "first as-of ms", 0),
            ("as_of_before_round_ms", "as-of before the round ms", 0),
            ("as_of_live_p50_ms", "as-of, live session p50 ms", 0),
            ("summarize_p50_ms", "summarize p50 ms", 0), ("fill_seconds", "fill s", 0)], [])),
        ("Archive search", table(runs, "search", [
            ("questions", "questions", 0), ("query", "word", 0), ("hits", "hits", 0),
            ("p50_ms", "search p50 ms", 1), ("max_ms", "search max ms", 1),
            ("index_seconds", "index s", 0)], [])),
    ]
    for title, text in sections:
        if text:
            print(f"### {title}\n\n{text}\n")
    skipped = [r for r in runs if "skipped" in r]
    for r in skipped:
        print(f"- not run: {r['scenario']} {label(r)}: {r['skipped']}")


if __name__ == "__main__":
    main(sys.argv[1])
    sys.stdout.flush()
