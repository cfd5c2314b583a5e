"""Production entry point: the async server is chosen and monkey-patched here, and only here.

SOCKETIO_ASYNC_MODE=gevent (default, with gevent-websocket) or eventlet; HOST and PORT set
where it listens. Nothing else in qa_live imports gevent or eventlet, but
qa_live/transport/servers.py, which only this file imports, after the monkey-patching.
"""

import gc
import logging
import os
import signal

ASYNC_MODE = os.environ.get("SOCKETIO_ASYNC_MODE", "gevent")

if ASYNC_MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()
elif ASYNC_MODE == "eventlet":
    import eventlet

    eventlet.monkey_patch()

from qa_live import create_app  # noqa: E402 - must come after monkey-patching
from qa_live.core.serving import listening_socket  # noqa: E402
from qa_live.extensions import socketio  # noqa: E402

app = create_app()
# A new visitor's shared live page or transcript answered in front of Flask, with the headers
# and cookies Flask gave the last one (qa_live/core/fast_pages.py); PUBLIC_PAGE_FRONT=0: off.
if os.environ.get("PUBLIC_PAGE_FRONT", "1") != "0":
    from qa_live.core.fast_pages import install as answer_shared_pages_in_front

    answer_shared_pages_in_front(app)
# Operational lines (a dependency failing and back, a worker taking the lead, a dead worker's
# visits closed) are INFO and WARNING, with the time, on stderr: LOG_FORMAT, LOG_LEVEL and the
# access log (ACCESS_LOG) are set up by create_app (qa_live/core/logs.py).
log = logging.getLogger("qa_live.server")

# The garbage collector's full collections walk every live object: with 3,000 citizens that
# was some 400,000 (engine.io sockets, green threads, rooms) and 0.4 s, and by default one runs
# each time the live objects grew by a quarter: every few hundred joins while a crowd arrives
# (measured: 2 s of 13 s of joining spent in them). What the app set up (some 140,000 objects)
# lives as long as the process: never scan it again. And consider a full collection after
# 1,000 young ones rather than 10: little lives long enough to need it (no reference cycles per
# socket event, see register_namespaces in qa_live/live/sockets.py); young ones go on as before.
gc.collect()
gc.freeze()
gc.set_threshold(700, 10, 1000)

# eventlet's server caps simultaneous connections at 1024 unless told otherwise.
EVENTLET_MAX_CONNECTIONS = int(os.environ.get("EVENTLET_MAX_CONNECTIONS", "20000"))


def _shutdown() -> None:
    """On the way out: this process's pages leave, and every visit not yet written is written.

    qa_live/live/visits.py writes joins and leaves in batches; a clean stop must lose none of them.
    """
    from qa_live.live import heartbeat
    from qa_live.live.sockets import end_pages
    from qa_live.transport import unicast
    from qa_live.transport.fanout import Tally

    try:
        end_pages(app)
    except Exception as exc:  # the database is down: the other workers close them later
        app.logger.warning("this worker's last visits could not be written: %s", exc)
    heartbeat.stop(app)  # this worker stopped, its visits written; the leader lease let go
    log.info("qa_live stopped; %s; %s", Tally.line(), unicast.Tally.line())


def _stop_on_sigterm() -> None:
    """SIGTERM (systemd, the bench, the tests) stops the server cleanly: see _shutdown()."""
    if socketio.async_mode == "gevent":
        import gevent

        def stop() -> None:
            server = getattr(socketio, "wsgi_server", None)
            if server is not None:
                server.stop(timeout=1)  # then main() goes on to _shutdown()

        gevent.signal_handler(signal.SIGTERM, stop)
    elif socketio.async_mode == "eventlet":
        import eventlet

        def shutdown_and_exit() -> None:
            # eventlet's server would wait for every open WebSocket to end before returning.
            try:
                _shutdown()
            finally:
                os._exit(0)

        def on_signal(_signum: int, _frame: object) -> None:
            eventlet.spawn_n(shutdown_and_exit)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    else:

        def interrupt(_signum: int, _frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, interrupt)


# A crowd connecting at once waits in the kernel's queue rather than being refused (the
# kernel caps it at net.core.somaxconn).
LISTEN_BACKLOG = int(os.environ.get("LISTEN_BACKLOG", "2048"))


def _warm_up() -> None:
    """Start the background loops and the message queue's listener before listening, so the
    worker is whole (/readyz) by the time nginx sends it anyone."""
    from qa_live.live.loops import start_loops
    from qa_live.transport.queue import start_listening

    start_loops(app)
    if socketio.server is not None:
        start_listening(socketio.server)


def _serve_gevent(host: str, port: int) -> None:
    """Flask-SocketIO's gevent server (pywsgi with gevent-websocket), on our listener, with the
    edge's time limits (qa_live/transport/servers.py) and the app's own logging."""
    from qa_live.transport.servers import Limits, serve_gevent

    listener = listening_socket(host, port, LISTEN_BACKLOG)
    server = serve_gevent(listener, app, Limits(app.config))
    socketio.wsgi_server = server  # what SIGTERM stops (_stop_on_sigterm)
    server.serve_forever()


def _serve_eventlet(host: str, port: int) -> None:
    """Flask-SocketIO's eventlet server, on our listener, with the edge's time limits."""
    from qa_live.transport.servers import Limits, serve_eventlet

    listener = listening_socket(host, port, LISTEN_BACKLOG)
    serve_eventlet(listener, app, Limits(app.config), EVENTLET_MAX_CONNECTIONS)


def main() -> None:
    """Serve the app on HOST:PORT (gevent, eventlet or threads); stop cleanly on SIGTERM."""
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    _stop_on_sigterm()
    _warm_up()
    try:
        if socketio.async_mode == "gevent":
            _serve_gevent(host, port)
        elif socketio.async_mode == "eventlet":
            _serve_eventlet(host, port)
        else:  # development only: wsgi.py without gevent or eventlet
            socketio.run(app, host=host, port=port, log_output=False,
                         allow_unsafe_werkzeug=True)
    except KeyboardInterrupt:
        pass
    finally:
        _shutdown()


if __name__ == "__main__":
    main()
