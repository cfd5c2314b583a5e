"""Sensitive-word screening with an Aho-Corasick automaton (pyahocorasick), not a loop of `in`.

The automaton holds the folded words (qa_live/live/screening.py) and runs over the folded text.
Each app keeps the automaton it built and the list version it was built from; before screening
it reads the one-row version (a primary-key lookup), and rebuilds when another process, the
office page or `flask words` has changed the list. So every worker screens with the new list
from its next question on, without a restart or a message between workers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import ahocorasick
from flask import current_app
from sqlalchemy import Table, bindparam, select, update

from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live.screening import Hit, fold, fold_word, hit_at
from qa_live.live.sensitive_models import SensitiveListVersion, SensitiveWord

_lock = threading.Lock()
_EXTENSION = "qa_live.sensitive_matcher"

_versions: Table = SensitiveListVersion.__table__  # type: ignore[assignment]
_words: Table = SensitiveWord.__table__  # type: ignore[assignment]
# Asked before every screening, so one small Core statement, compiled once.
_VERSION = select(_versions.c.version).where(_versions.c.id == 1)
_WORDS = select(_words.c.word)
# Claims the first load of the default file: only the process whose update hits the row loads.
_FIRST_LOAD = (update(_versions).where(_versions.c.id == 1, _versions.c.version == 0)
               .values(version=1, changed_at=bindparam("now")))


def normalise(text: str) -> str:
    """The folded form a word is matched in (see screening.fold)."""
    return fold_word(text)


def bump_version() -> None:
    """Record a change to the list in the current transaction: every worker reloads after it."""
    connection = db.session.connection()
    changed = connection.execute(
        update(_versions).where(_versions.c.id == 1)
        .values(version=_versions.c.version + 1, changed_at=utcnow()))
    if not changed.rowcount:
        connection.execute(_versions.insert().values(id=1, version=1, changed_at=utcnow()))


def list_version() -> int:
    """The word list's current version (0: never filled)."""
    return db.session.connection().execute(_VERSION).scalar() or 0


def _load_default_file() -> None:
    """Fill a list never filled from SENSITIVE_WORDS_FILE (the first run of an installation)."""
    from qa_live.live import wordlist

    name = current_app.config.get("SENSITIVE_WORDS_FILE")
    connection = db.session.connection()
    claimed = connection.execute(_FIRST_LOAD, {"now": utcnow()}).rowcount
    if not claimed:
        if connection.execute(_VERSION).scalar() is None:  # no row at all: an old database
            connection.execute(_versions.insert().values(id=1, version=1, changed_at=utcnow()))
        else:
            return
    if name and Path(name).is_file():
        wordlist.import_text(Path(name).read_text(encoding="utf-8"), None,
                             filename=Path(name).name, login="system")


def ensure_loaded() -> int:
    """The list version, after filling a list never filled from the default file."""
    version = list_version()
    if version == 0:
        _load_default_file()
        version = list_version()
    return version


def _matcher(version: int | None = None) -> tuple[int, ahocorasick.Automaton]:
    """The automaton of the list's current version; ``version``: the caller has just read it
    in its transaction (intake reads it with its checks), so it is not read again."""
    if not version:  # not read, or a list never filled (ensure_loaded fills it)
        version = ensure_loaded()
    extensions = current_app.extensions
    with _lock:
        built = extensions.get(_EXTENSION)
        if built is not None and built[0] == version:
            return built
    automaton = ahocorasick.Automaton()
    for word in db.session.connection().execute(_WORDS).scalars():
        key = fold_word(word)
        if key:
            automaton.add_word(key, (word, key))
    if len(automaton):
        automaton.make_automaton()
    with _lock:
        extensions[_EXTENSION] = (version, automaton)
    return version, automaton


def _scan(text: str, automaton: ahocorasick.Automaton) -> list[Hit]:
    if not text or not len(automaton):
        return []
    folded, origin = fold(text)
    hits = []
    for end, (word, key) in automaton.iter(folded):
        hit = hit_at(text, origin, word, key, end - len(key) + 1)
        if hit is not None:
            hits.append(hit)
    hits.sort(key=lambda h: (h.start, h.end))
    return hits


def _unique_words(hits: list[Hit]) -> list[str]:
    return list(dict.fromkeys(hit.word for hit in hits))


def screen(text: str) -> list[Hit]:
    """Every list word standing in the text, as spans of the text as written, in order."""
    return _scan(text, _matcher()[1]) if text else []


def find_hits(text: str) -> list[str]:
    """The sensitive words found in the text, each once, in order of appearance."""
    return _unique_words(screen(text))


@dataclass(frozen=True)
class Verdict:
    """What screening found in a citizen's question: words in its text and in its nickname."""

    text_hits: list[str]
    nickname_hits: list[str]

    @property
    def flagged(self) -> bool:
        """Either holds a list word: the question waits for a moderator, in any mode."""
        return bool(self.text_hits or self.nickname_hits)

    @property
    def columns(self) -> dict[str, str]:
        """The Question columns that keep the hits."""
        return {"sensitive_hits": "\n".join(self.text_hits)[:500],
                "nickname_hits": "\n".join(self.nickname_hits)[:200]}


def screen_question(text: str, nickname: str, version: int | None = None) -> Verdict:
    """Screen a question's text and its nickname alike (one list, one folding).

    ``version``: the list's version as the caller's transaction just read it (see _matcher).
    """
    automaton = _matcher(version)[1]
    return Verdict(_unique_words(_scan(text, automaton)),
                   _unique_words(_scan(nickname, automaton)))
