"""Where a citizen's connect and join spend the server's CPU (issue 17, join17c).

    python bench/join_profile.py [--clients N] [--rate HZ] [--raw FILE] [--json FILE]

Starts one qa_live process as the bench does (wsgi.py, gevent, SQLite, ``flask demo load``),
samples it with py-spy (not a project dependency: ``pip install py-spy``) while N citizens
(bench/loadgen.py, one WebSocket each, their own visitor cookie, 64 handshakes in flight)
connect to /qa and join the live session from none, and sorts the samples into the parts of a
join by the frames on their stacks (the first rule that matches a stack, innermost first, wins).
Not part of `make bench`: a tool to decide what to cut. Sampling slows the server a little;
the shares are what to read, not the seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
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
    TICK,
    Target,
    _prepare_qa_live,
    cpu_ticks,
    flask,
    free_port,
    popen,
    qa_live_env,
    wait_http,
)

# (part, substrings of frames "Qualified.name (file:line)") in the order tried: a sample goes to
# the first part with a substring somewhere on its stack. The handlers first (their own work),
# then what wraps every event, then the layers below, from the innermost out.
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("join: snapshot (kept part, votes, own questions)",
     ("snapshot_at (", "upvotes_and_own (", "_public_part (", "my_questions")),
    ("join: replay", ("events_since (",)),
    ("join: session head query", ("session_head (",)),
    ("join: counters", ("recent_counts (",)),
    ("join: visit", ("join_visit (",)),
    ("join: room and the rest of the handler", ("CitizenNamespace.on_join (",)),
    ("connect: our handler (cookie, limits, room)", ("CitizenNamespace.on_connect (",)),
    ("join/connect: flood limits and guard", ("guarded.<locals>.wrapper (",
                                              "connect_guarded.<locals>.wrapper (")),
    ("writes to the socket (the kernel's copy)", ("SocketMixin.send (", "_sendall (",
                                                  "SocketMixin.sendall (", "raw_send")),
    ("the pause before each WebSocket read (sleep 0)",
     ("_install_websocket_check.<locals>.pause (",)),
    ("SQL outside the handlers (visits written in batches, summaries' counts)",
     ("sqlalchemy/",)),
    ("Flask request context per event (push, session, teardown)",
     ("SocketIO._handle_event (",)),
    ("Socket.IO packet encode (the acks, the connect)", ("Packet.encode (socketio",
                                                         "transport/packets.py",
                                                         "Packet.__init__ (socketio")),
    ("summaries to pages already joined", ("summaries.py", "emit_giving_way")),
    ("Socket.IO server (connect, dispatch, frame checks)", ("socketio/server.py",
                                                            "socketio/base_",
                                                            "socketio/manager.py",
                                                            "transport/frames.py",
                                                            "transport/fanout.py")),
    ("Engine.IO writer green thread (start, queue, send)", ("start_background_task (",
                                                            "writer (engineio",
                                                            "engineio/queue")),
    ("WebSocket frames read / write", ("geventwebsocket/websocket.py",
                                       "transport/websockets.py")),
    ("Engine.IO handshake and socket", ("engineio/",)),
    ("WebSocket upgrade (gevent-websocket handshake)", ("geventwebsocket/handler.py",)),
    ("request log, edge, WhiteNoise, WSGI layers", ("qa_live/core/logs.py",
                                                    "transport/edge.py", "whitenoise/")),
    ("HTTP request parse and connection (pywsgi)", ("gevent/pywsgi.py",
                                                    "transport/servers.py")),
    ("gevent hub, sockets, greenlets", ("gevent/", "greenlet")),
]


def classify(stack: str) -> str:
    for part, needles in PARTS:
        if any(needle in stack for needle in needles):
            return part
    return "other"


async def _storm(target: Target, clients: int) -> Tally:
    tally = Tally(expected_clients=clients)
    gate = asyncio.Semaphore(64)
    tasks = [asyncio.create_task(citizen("127.0.0.1", target.port, "/qa", SLUG,
                                         target.headers_for(i), tally, gate, join_timeout=600))
             for i in range(clients)]
    await asyncio.wait_for(tally.all_joined.wait(), timeout=900)
    await asyncio.sleep(0.5)
    hang_up(tally)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return tally


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=250)
    parser.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks here")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-spy", action="store_true",
                        help="only the storm's time and the server's CPU, without sampling")
    opts = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    workdir = Path(tempfile.mkdtemp(prefix="qa-joinprof-"))
    port = free_port()
    env = qa_live_env(workdir, port, "gevent", secrets.token_hex(32))
    target = Target("qa_live", "1proc-sqlite-gevent", port)
    raw = opts.raw or workdir / "stacks.txt"
    try:
        flask(env, "db", "upgrade")
        flask(env, "demo", "load")
        process = popen([PYTHON, str(ROOT / "wsgi.py")], workdir / "server.log", env)
        target.processes.append(process)
        wait_http(target.base + "/", target.processes)
        _prepare_qa_live(target, env, opts.clients, "joinprof")
        time.sleep(2)
        command = [py_spy, "record", "--pid", str(process.pid), "--rate", str(opts.rate),
                   "--format", "raw", "--nonblocking", "--output", str(raw)]
        spy = None if opts.no_spy else subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        ticks = cpu_ticks(process.pid)
        began = time.perf_counter()
        tally = asyncio.run(_storm(target, opts.clients))
        seconds = time.perf_counter() - began
        cpu_ms = (cpu_ticks(process.pid) - ticks) * 1000 / TICK
        if spy is not None:
            spy.send_signal(2)  # SIGINT: py-spy writes what it has and exits
            spy.wait(timeout=60)
    finally:
        target.stop()
    parts: dict[str, int] = {}
    total = 0
    for line in ([] if spy is None else raw.read_text().splitlines()):
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        part = classify(stack)
        parts[part] = parts.get(part, 0) + int(count)
    print(f"{tally.joined}/{opts.clients} joined in {seconds:.1f} s, server CPU {cpu_ms:.0f} ms "
          f"({cpu_ms / opts.clients:.2f} ms per citizen, sampled with py-spy), "
          f"{total} samples")
    for part, count in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"  {100 * count / total:5.1f} %  {part}")
    total = total or 1
    if opts.json:
        opts.json.write_text(json.dumps({
            "clients": opts.clients, "joined": tally.joined, "seconds": round(seconds, 2),
            "cpu_ms_per_citizen": round(cpu_ms / opts.clients, 3), "samples": total,
            "parts": {p: round(100 * c / total, 1) for p, c in parts.items()}}, indent=1))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
