"""Production entry point: the async server is chosen and monkey-patched here, and only here.

SOCKETIO_ASYNC_MODE=gevent (default, with gevent-websocket) or eventlet; HOST and PORT set
where it listens. Nothing else in qa_live imports gevent or eventlet.
"""

import os

ASYNC_MODE = os.environ.get("SOCKETIO_ASYNC_MODE", "gevent")

if ASYNC_MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()
elif ASYNC_MODE == "eventlet":
    import eventlet

    eventlet.monkey_patch()

from qa_live import create_app  # noqa: E402 - must come after monkey-patching
from qa_live.extensions import socketio  # noqa: E402

app = create_app()

# eventlet's server caps simultaneous connections at 1024 unless told otherwise.
EVENTLET_MAX_CONNECTIONS = int(os.environ.get("EVENTLET_MAX_CONNECTIONS", "20000"))


def main() -> None:
    """Serve the app with Flask-SocketIO on HOST:PORT."""
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    options: dict = {"host": host, "port": port, "log_output": os.environ.get("ACCESS_LOG") == "1"}
    if socketio.async_mode == "eventlet":
        options["max_size"] = EVENTLET_MAX_CONNECTIONS
    if socketio.async_mode == "threading":
        options["allow_unsafe_werkzeug"] = True  # development only: wsgi.py without gevent
    socketio.run(app, **options)


if __name__ == "__main__":
    main()
