"""Votes this process knows were cast: a repeated vote is refused without the database.

A vote flood (100 sockets × 50 votes, nine in ten refused as "already voted") made every refused
vote load the session and the question and try an INSERT that failed on the unique key: on
SQLite each of those took the write lock, and the flood stalled everyone else's answers by
seconds. A vote (question, visitor) seen here, cast or refused as a repeat, is refused from
memory. Only what the database confirmed is kept, so a miss simply asks the database, as
before (another worker, a restart, an entry forgotten to keep the memory bounded).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import current_app
from flask_babel import gettext as _

from qa_live.live.services import QuestionRefused

#: Votes remembered in this process (some 100 bytes each); the oldest are forgotten first.
KEEP = 100_000

_lock = threading.Lock()
_EXT = "qa_live.votes_seen"


def _seen() -> OrderedDict[tuple[int, str], None]:
    """This app's memory (one per app: per database, and per test)."""
    extensions = current_app.extensions
    seen = extensions.get(_EXT)
    if seen is None:
        seen = extensions.setdefault(_EXT, OrderedDict())
    return seen


def refuse_repeat(question_id: int, visitor_id: str) -> None:
    """Raise "already_voted" if this visitor's vote for the question is known to be cast."""
    if (question_id, visitor_id) in _seen():
        raise QuestionRefused(_("You have already voted for this question."), "already_voted")


def remember(question_id: int, visitor_id: str) -> None:
    """Note a vote the database has (cast and committed, or refused as a repeat)."""
    seen = _seen()
    with _lock:
        seen[(question_id, visitor_id)] = None
        while len(seen) > KEEP:
            seen.popitem(last=False)
