"""The multi-worker deployment on loopback for a developer: `make scale`.

The same stack tests/test_faults.py runs (tests/fault_stack.py): a private PostgreSQL and Redis
(scripts/services.sh), a fresh migrated database with an office and a host account, two gevent
wsgi.py workers sharing them, and nginx in front rendering deploy/nginx.conf itself. It prints
where everything is and runs until Ctrl-C (or SIGTERM), then stops all it started.

    make scale                        # or: .venv/bin/python scripts/scale.py
    .venv/bin/python scripts/scale.py --check   # start, check /readyz and nginx, stop
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests

from tests.fault_stack import STAFF_PASSWORD, Stack


def main() -> int:
    """Start the stack; print where it is; run until stopped (or check it and stop)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="start, check every worker is ready behind nginx, stop")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="qa_live-scale-"))
    print(f"starting PostgreSQL, Redis, two workers and nginx (logs in {folder}) …", flush=True)
    stack = Stack(folder)
    try:
        for worker in stack.workers:
            ready = requests.get(f"{worker.url}/readyz", timeout=10)
            print(f"worker {worker.name} {worker.url}: /readyz {ready.status_code} "
                  f"{ready.json()['status']}", flush=True)
            if args.check and ready.status_code != 200:
                print(ready.text, file=sys.stderr)
                return 1
        front = requests.get(stack.url + "/healthz", timeout=10)
        print(f"nginx {stack.url} and {stack.tls_url} (certificate {stack.cert}): "
              f"/healthz {front.status_code}")
        print(f"database {stack.database}\nredis {stack.services.redis_url}")
        print(f"log in as office or host, password {STAFF_PASSWORD}; API tokens: office "
              f"{stack.office_token} host {stack.host_token}")
        print("metrics: " + ", ".join(f"{w.url}/metrics" for w in stack.workers), flush=True)
        if args.check:
            return 0 if front.status_code == 200 else 1
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        print("running; Ctrl-C stops everything", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        print("stopping …", flush=True)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
