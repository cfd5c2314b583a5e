"""The Socket.IO packet class qa_live's server uses: python-socketio's, made cheaper to build.

python-socketio looks through the whole payload of every packet it sends for binary parts, with
a recursive walk that builds a list per level. A join's acknowledgement carries the session's
snapshot (every published question with its answers): at 10,000 pages joining, that walk was a
fifth of the server's time. Here the walk is a loop, and it skips the parts already known to
be plain JSON (:class:`Plain`: the kept public part of a snapshot, shared by every join).

Text goes out as UTF-8, not as ``\\uXXXX`` escapes: a Chinese character is 3 bytes on the wire
instead of 6, which halves what a phone downloads for a session's snapshot.
"""

from __future__ import annotations

import json
from typing import Any

from socketio import packet


class Plain(dict[str, Any]):
    """A dict known to hold JSON values only (str, numbers, bools, None, lists, Plain dicts)."""

    __slots__ = ()


class _Json:
    """The json module python-socketio is given: UTF-8 text, not ASCII escapes."""

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        kwargs["ensure_ascii"] = False
        return json.dumps(obj, **kwargs)

    @staticmethod
    def loads(text: str | bytes, **kwargs: Any) -> Any:
        return json.loads(text, **kwargs)


class Packet(packet.Packet):
    """python-socketio's packet with a cheaper binary check (see the module's docstring)."""

    json = _Json

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        """Whether the data holds bytes anywhere (Plain parts are known not to)."""
        pending = [data]
        while pending:
            item = pending.pop()
            if isinstance(item, bytes | bytearray):
                return True
            if type(item) is Plain:
                continue
            if isinstance(item, dict):
                pending.extend(item.values())
            elif isinstance(item, list):
                pending.extend(item)
        return False
