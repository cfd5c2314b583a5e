"""The fenced transport layer: everything that relies on private parts of python-engineio,
python-socketio, gevent-websocket or eventlet lives in this sub-package (CONVENTIONS.md, habit 12).

docs/realtime.md ("Upgrade checklist") names each private attribute relied on and the versions
it was verified against; on any other version the stock path is used.
"""
