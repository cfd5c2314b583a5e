"""A refused Socket.IO connect that says why, in the shape docs/realtime.md documents.

python-socketio sends the ``error_args`` of the ConnectionRefusedError raised in a connect
handler as the CONNECT_ERROR packet's data. Given one argument it sends ``{"message":
str(arg)}`` (a dict became its Python repr); given two, ``{"message": str(first), "data":
second}``. The socket.io JS client builds its Error from ``data.message`` and hands
``data.data`` to ``connect_error`` as ``err.data``. So a refusal here goes out as::

    {"message": text, "error": code, "data": {"error": code, "message": text}}

``message`` and ``data`` come from the library's public two-argument form; the top-level
``error`` is one key added to the ``error_args`` dict the exception carries (python-socketio
5.x, verified with 5.18.1). Were that attribute ever not a dict, the key is simply not added
and clients still read the code from ``data``.
"""

from __future__ import annotations

from socketio.exceptions import ConnectionRefusedError


class Refused(ConnectionRefusedError):
    """Raise in a connect handler: refused with a code for programs and a message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, {"error": code, "message": message})
        self.code = code
        args = getattr(self, "error_args", None)
        if isinstance(args, dict):
            args["error"] = code
