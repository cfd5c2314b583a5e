"""Reference server: bare python-socketio on gevent + gevent-websocket (see relay_common.py).

`python bench/relay_gevent.py` serves on HOST:PORT (default 127.0.0.1:5100).
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import sys  # noqa: E402

from gevent import pywsgi  # noqa: E402
from geventwebsocket.handler import WebSocketHandler  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from relay_common import build  # noqa: E402


def main() -> None:
    _sio, app = build("gevent")
    address = (os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "5100")))
    server = pywsgi.WSGIServer(address, app, handler_class=WebSocketHandler, log=None,
                               backlog=2048)
    print(f"relay_gevent on {address[0]}:{address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
