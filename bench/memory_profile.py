"""Where a citizen's memory goes: the allocation sites of N joined citizens (issue 17).

    python bench/memory_profile.py [--clients N] [--frames K] [--top T] [--json FILE]

Starts one qa_live process (wsgi.py, gevent, SQLite, ``flask demo load``) with Python's
tracemalloc tracing from its first line, takes a snapshot once the server is up and another
after N citizens (bench/loadgen.py, one WebSocket each, each with its own visitor cookie) have
joined the live session, and prints the growth per citizen: RSS, and the Python allocation sites
that grew the most (grouped by the innermost frame outside the standard library). Tracing
slows the server several times: the figures are bytes, not times. Not part of `make bench`; a
tool to decide what to make smaller.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
from loadgen import Tally, citizen, hang_up
from servers import (
    PYTHON,
    ROOT,
    SLUG,
    Target,
    _prepare_qa_live,
    flask,
    free_port,
    popen,
    qa_live_env,
    rss_kb,
    wait_http,
)

# Run inside the server: trace from the start, and write a snapshot on SIGUSR2.
_TRACED = """
import os, runpy, sys, tracemalloc
tracemalloc.start(int(os.environ["QA_MEMORY_FRAMES"]))
from gevent import monkey
monkey.patch_all()
import gevent

def _dump():
    out = os.environ["QA_MEMORY_OUT"]
    path = out + f".{len(os.listdir(os.path.dirname(out)))}"
    tracemalloc.take_snapshot().dump(path + ".tmp")
    os.rename(path + ".tmp", path)

gevent.signal_handler(__import__("signal").SIGUSR2, _dump)
sys.argv = [os.environ["QA_WSGI"]]
sys.path.insert(0, os.path.dirname(os.environ["QA_WSGI"]))
runpy.run_path(os.environ["QA_WSGI"], run_name="__main__")
"""


def _snapshot(process: subprocess.Popen[bytes], folder: Path, timeout: float = 600) -> Path:
    before = set(folder.iterdir())
    process.send_signal(signal.SIGUSR2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [p for p in set(folder.iterdir()) - before if not p.name.endswith(".tmp")]
        if new:
            return new[0]
        time.sleep(0.2)
    raise TimeoutError("no snapshot written")


async def _connect(target: Target, clients: int) -> Tally:
    tally = Tally(expected_clients=clients)
    gate = asyncio.Semaphore(32)
    tasks = [asyncio.create_task(citizen("127.0.0.1", target.port, "/qa", SLUG,
                                         target.headers_for(i), tally, gate, join_timeout=600))
             for i in range(clients)]
    await asyncio.wait_for(tally.all_joined.wait(), timeout=900)
    tally.tasks = tasks  # type: ignore[attr-defined]
    return tally


def _where(frames: object, depth: int) -> str:
    """The allocation's innermost frame outside the standard library (frames run oldest first)."""
    lines = list(frames)  # type: ignore[call-overload]
    for frame in reversed(lines[-depth:]):
        name = frame.filename
        if "site-packages/" in name or "/qa_live/" in name:
            return f"{name.split('site-packages/')[-1].split('/work/')[-1]}:{frame.lineno}"
    last = lines[-1]
    return f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args()
    import tracemalloc

    workdir = Path(tempfile.mkdtemp(prefix="qa-memory-"))
    snaps = workdir / "snaps"
    snaps.mkdir()
    port = free_port()
    env = qa_live_env(workdir, port, "gevent", secrets.token_hex(32))
    traced = workdir / "traced.py"
    traced.write_text(_TRACED)
    env.update(QA_MEMORY_FRAMES=str(opts.frames), QA_MEMORY_OUT=str(snaps / "snap"),
               QA_WSGI=str(ROOT / "wsgi.py"))
    target = Target("qa_live", "1proc-sqlite-gevent-traced", port)
    log = workdir / "server.log"
    try:
        flask(env, "db", "upgrade")
        flask(env, "demo", "load")
        process = popen([PYTHON, str(traced)], log, env)
        target.processes.append(process)
        wait_http(target.base + "/", target.processes, timeout=120)
        _prepare_qa_live(target, env, opts.clients, "memprof")
        time.sleep(2)
        rss_before = rss_kb(process.pid)
        first = tracemalloc.Snapshot.load(str(_snapshot(process, snaps)))
        tally = asyncio.run(_hold(target, opts.clients, process, snaps))
        rss_after, second_path = tally
        second = tracemalloc.Snapshot.load(str(second_path))
    finally:
        target.stop()
    n = opts.clients
    grown: dict[str, list[int]] = {}
    for stat in second.compare_to(first, "traceback"):
        if stat.size_diff <= 0:
            continue
        where = _where(stat.traceback, opts.frames)
        entry = grown.setdefault(where, [0, 0])
        entry[0] += stat.size_diff
        entry[1] += stat.count_diff
    python_total = sum(size for size, _ in grown.values())
    top = sorted(grown.items(), key=lambda kv: -kv[1][0])[:opts.top]
    print(f"{n} citizens joined: RSS {(rss_after - rss_before) / n:.1f} KB per citizen "
          f"(traced), Python allocations {python_total / n / 1024:.1f} KB per citizen")
    for where, (size, count) in top:
        print(f"  {size / n:8.0f} B  {count / n:6.1f} blocks  {where}")
    if opts.json:
        opts.json.write_text(json.dumps({
            "clients": n, "rss_kb_per_client": round((rss_after - rss_before) / n, 1),
            "python_bytes_per_client": round(python_total / n),
            "top": [{"where": w, "bytes_per_client": round(s / n),
                     "blocks_per_client": round(c / n, 1)} for w, (s, c) in top]},
            indent=1))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


async def _hold(target: Target, clients: int, process: subprocess.Popen[bytes],
                snaps: Path) -> tuple[int, Path]:
    tally = await _connect(target, clients)
    await asyncio.sleep(3)
    rss_after = rss_kb(process.pid)
    path = await asyncio.to_thread(_snapshot, process, snaps)
    hang_up(tally)
    return rss_after, path


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
