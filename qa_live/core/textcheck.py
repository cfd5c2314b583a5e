"""Text that cannot be stored or shown: refused at the edge with a clear error, everywhere.

Two kinds of character reach us only from scripts, never from a keyboard: a lone UTF-16
surrogate (``\\ud800``, which JSON can spell but UTF-8 cannot encode, so the database driver
raised and the citizen saw a 500 or ``server_error``) and NUL (which PostgreSQL refuses and
SQLite stores, cutting the text short for C readers). Every JSON body, form and query string
holding either is answered 400 ``invalid`` before a view runs; socket events are checked the
same way (qa_live/live/socket_common.py).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
#: JSON nesting deeper than this is not walked further (the payloads we take are flat).
MAX_DEPTH = 32


def unstorable(value: Any, depth: int = 0) -> bool:
    """Whether a JSON value holds a NUL or a lone surrogate in any string (or key)."""
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return any(unstorable(k, depth + 1) or unstorable(v, depth + 1)
                   for k, v in value.items())
    if isinstance(value, list):
        return any(unstorable(item, depth + 1) for item in value)
    return False


def unstorable_message() -> str:
    """What the person (or program) is told."""
    return _("The text contains characters that cannot be stored (such as NUL or a lone "
             "surrogate). Please remove them and try again.")


def init_app(app: Flask) -> None:
    """Refuse requests carrying unstorable text, for every view."""

    @app.before_request
    def _refuse_unstorable_text() -> ResponseReturnValue | None:
        from qa_live.core.errors import error_response

        found = any(unstorable(v) for v in request.args.values())
        if not found and request.is_json:
            try:
                found = unstorable(request.get_json(silent=True))
            except RecursionError:  # JSON nested thousands deep: not ValueError, so not silent
                return error_response(400, _("The data sent is nested too deeply."), "invalid")
        elif not found and request.mimetype in ("application/x-www-form-urlencoded",
                                                "multipart/form-data"):
            found = any(unstorable(v) for v in request.form.values())
        if found:
            return error_response(400, unstorable_message(), "invalid")
        return None
