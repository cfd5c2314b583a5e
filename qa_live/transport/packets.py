"""The Socket.IO packet class qa_live's server uses: python-socketio's, made cheaper to build.

python-socketio looks through the whole payload of every packet it sends for binary parts, with
a recursive walk that builds a list per level. A join's acknowledgement carries the session's
snapshot (every published question with its answers): at 10,000 pages joining, that walk was a
fifth of the server's time. Here the walk is a loop, and it skips the parts already known to
be plain JSON (:class:`Plain`: the kept public part of a snapshot, shared by every join).

Text goes out as UTF-8, not as ``\\uXXXX`` escapes: a Chinese character is 3 bytes on the wire
instead of 6, which halves what a phone downloads for a session's snapshot.

A :class:`Prepared` part (or :class:`PreparedList`) is encoded once, the first time it is sent,
and its text is reused by every later packet that carries it (every page joining reuses the
snapshot's questions).
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from socketio import packet


class Plain(dict[str, Any]):
    """A dict known to hold JSON values only (str, numbers, bools, None, lists, Plain dicts)."""

    __slots__ = ()


class Prepared(Plain):
    """A Plain part that never changes once made: its JSON text is kept after the first use."""

    __slots__ = ("_json",)
    _json: str  # set the first time the part is encoded


class PreparedList(list[Any]):
    """A list of JSON values that never changes once made: like :class:`Prepared`, its JSON text
    is kept after the first use (a snapshot's questions, posts, photos: one piece of text
    spliced into every join's acknowledgement instead of one per item)."""

    __slots__ = ("_json",)
    _json: str


# Where a Prepared part's text goes: a string no payload can hold (a NUL and a secret), which
# json.dumps writes as "\u0000<secret><n>".
_MARK = "\x00" + secrets.token_hex(8)
_MARKED = re.compile('"\\\\u0000' + _MARK[1:] + '(\\d+)"')
_COMPACT = {"separators": (",", ":")}  # what python-socketio asks for


def _compact(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _stand_ins(obj: Any, texts: list[str]) -> Any:
    """``obj`` with each Prepared part replaced by a numbered mark (its text put in ``texts``).

    A container is copied only when something inside it was replaced: most packets (asks,
    broadcasts, console updates) hold no Prepared part and go out as they are.
    """
    if type(obj) is Prepared or type(obj) is PreparedList:
        text = getattr(obj, "_json", None)
        if text is None:
            text = obj._json = _compact(obj)
        texts.append(text)
        return f"{_MARK}{len(texts) - 1}"
    if isinstance(obj, Plain):
        return obj
    if isinstance(obj, dict):
        copied: dict[Any, Any] | None = None
        for key, value in obj.items():
            marked = _stand_ins(value, texts)
            if marked is not value:
                copied = dict(obj) if copied is None else copied
                copied[key] = marked
        return obj if copied is None else copied
    if isinstance(obj, list):
        items: list[Any] | None = None
        for index, value in enumerate(obj):
            marked = _stand_ins(value, texts)
            if marked is not value:
                items = list(obj) if items is None else items
                items[index] = marked
        return obj if items is None else items
    return obj


class _Json:
    """The json module python-socketio is given: UTF-8 text, not ASCII escapes."""

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        if kwargs != _COMPACT:
            kwargs["ensure_ascii"] = False
            return json.dumps(obj, **kwargs)
        texts: list[str] = []
        skeleton = _stand_ins(obj, texts)
        text = _compact(skeleton)
        if not texts:
            return text
        return _MARKED.sub(lambda found: texts[int(found.group(1))], text)

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
            if isinstance(item, Plain | PreparedList):
                continue
            if isinstance(item, dict):
                pending.extend(item.values())
            elif isinstance(item, list):
                pending.extend(item)
        return False
