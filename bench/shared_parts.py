"""Per-worker and shared-part counters of the two-worker configuration (issue 17's capacity model).

For ``2workers-pg-redis-nginx`` the harness reads, before and after a fan-out or an intake phase:

* per worker (each ``wsgi.py`` process, by its own port): CPU time, and the citizens it holds
  (established TCP connections to its port: nginx keeps one upstream connection per WebSocket);
* nginx: CPU time of its processes;
* Redis: ``PUBLISH`` calls and bytes sent to clients (``INFO commandstats`` / ``INFO stats``) and
  its CPU time;
* PostgreSQL: committed transactions of the database (``pg_stat_database.xact_commit``) and the
  CPU time of its processes.

:func:`delta` turns two readings into rates per second and CPU per delivered message, which
docs/performance.md's capacity model rests on. Nothing here changes what is measured elsewhere.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from servers import TICK, children, cpu_ticks


@dataclass
class ClusterProbe:
    worker_pids: list[int]
    worker_ports: list[int]
    nginx_pid: int | None
    redis_url: str
    postgres_url: str
    redis_pid: int | None = None
    postgres_pids: list[int] = field(default_factory=list)

    def read(self) -> dict[str, Any]:
        reading: dict[str, Any] = {
            "workers_cpu_ticks": [cpu_ticks(pid) for pid in self.worker_pids],
            "workers_held": [established(port) for port in self.worker_ports],
            "nginx_cpu_ticks": sum(cpu_ticks(p) for p in _tree(self.nginx_pid)),
            "redis_cpu_ticks": cpu_ticks(self.redis_pid) if self.redis_pid else 0,
            "postgres_cpu_ticks": sum(cpu_ticks(p) for p in self._postgres_tree()),
        }
        reading.update(redis_counters(self.redis_url))
        reading["pg_commits"] = postgres_commits(self.postgres_url)
        return reading

    def _postgres_tree(self) -> list[int]:
        found: list[int] = []
        for pid in self.postgres_pids[:1]:
            found.extend(_tree(pid))
        return found


def _tree(pid: int | None) -> list[int]:
    if pid is None or not Path(f"/proc/{pid}").exists():
        return []
    return [pid, *children(pid)]


def established(port: int) -> int:
    """Established TCP connections whose local port is ``port`` (the server's side)."""
    count = 0
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(name).read_text().splitlines()[1:]:
                parts = line.split()
                if len(parts) > 3 and parts[3] == "01" and \
                        int(parts[1].rsplit(":", 1)[1], 16) == port:
                    count += 1
    return count


def _redis_command(url: str, *words: str) -> str:
    parsed = urlparse(url)
    payload = f"*{len(words)}\r\n" + "".join(f"${len(w)}\r\n{w}\r\n" for w in words)
    with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379),
                                  timeout=5) as conn:
        conn.sendall(payload.encode())
        data = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
            if data.startswith(b"$"):
                header, _, rest = data.partition(b"\r\n")
                if len(rest) >= int(header[1:]) + 2:
                    break
    return data.decode(errors="replace")


def redis_counters(url: str) -> dict[str, int]:
    """PUBLISH calls and bytes written to clients so far, from INFO."""
    found = {"redis_publishes": 0, "redis_output_bytes": 0}
    with contextlib.suppress(OSError, ValueError):
        text = _redis_command(url, "INFO", "all")
        for line in text.splitlines():
            if line.startswith("cmdstat_publish:"):
                for part in line.split(":", 1)[1].split(","):
                    key, _, value = part.partition("=")
                    if key == "calls":
                        found["redis_publishes"] = int(value)
            elif line.startswith("total_net_output_bytes:"):
                found["redis_output_bytes"] = int(line.split(":", 1)[1])
    return found


def postgres_commits(url: str) -> int:
    """Committed transactions of the URL's database (pg_stat_database, flushed within ~1 s)."""
    from sqlalchemy import create_engine, text

    with contextlib.suppress(Exception):
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_stat_clear_snapshot()"))
                return int(conn.execute(text(
                    "SELECT xact_commit FROM pg_stat_database "
                    "WHERE datname = current_database()")).scalar_one())
        finally:
            engine.dispose()
    return 0


def delta(before: dict[str, Any], after: dict[str, Any], seconds: float,
          delivered: int) -> dict[str, Any]:
    """Rates over a phase: what each worker held and spent, and what the shared parts did."""
    seconds = max(seconds, 1e-6)
    workers = []
    for i, (b, a) in enumerate(zip(before["workers_cpu_ticks"], after["workers_cpu_ticks"],
                                   strict=True)):
        cpu_ms = (a - b) * 1000 / TICK
        workers.append({"worker": i, "held": after["workers_held"][i],
                        "cpu_ms": round(cpu_ms, 1),
                        "cpu_share": round(cpu_ms / 1000 / seconds, 3)})
    def per_s(key: str) -> float:
        return round((after[key] - before[key]) / seconds, 1)
    total_worker_ms = sum(w["cpu_ms"] for w in workers)
    return {
        "workers": workers,
        "worker_cpu_us_per_msg": round(total_worker_ms * 1000 / delivered, 2) if delivered
        else None,
        "nginx_cpu_ms": round((after["nginx_cpu_ticks"] - before["nginx_cpu_ticks"]) * 1000
                              / TICK, 1),
        "redis_cpu_ms": round((after["redis_cpu_ticks"] - before["redis_cpu_ticks"]) * 1000
                              / TICK, 1),
        "postgres_cpu_ms": round((after["postgres_cpu_ticks"] - before["postgres_cpu_ticks"])
                                 * 1000 / TICK, 1),
        "redis_publishes_per_s": per_s("redis_publishes"),
        "redis_output_bytes_per_s": per_s("redis_output_bytes"),
        "pg_commits_per_s": per_s("pg_commits"),
        "delivered_per_s": round(delivered / seconds, 1),
    }
