"""Reference server: bare python-socketio on eventlet (see relay_common.py).

`python bench/relay_eventlet.py` serves on HOST:PORT (default 127.0.0.1:5101).
"""

import eventlet

eventlet.monkey_patch()

import os  # noqa: E402
import sys  # noqa: E402

import eventlet.wsgi  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from relay_common import build  # noqa: E402


def main() -> None:
    _sio, app = build("eventlet")
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "5101"))
    listener = eventlet.listen((host, port), backlog=2048)
    print(f"relay_eventlet on {host}:{port}", flush=True)
    # eventlet caps simultaneous connections at 1024 unless told otherwise (as wsgi.py does).
    eventlet.wsgi.server(listener, app, log_output=False, max_size=100_000)


if __name__ == "__main__":
    main()
