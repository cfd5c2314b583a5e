"""Sensitive-word screening with an Aho-Corasick automaton (pyahocorasick), not a loop of `in`."""

from __future__ import annotations

import threading
from pathlib import Path

import ahocorasick
from flask import current_app
from sqlalchemy import Table, func, select

from qa_live.core.db_setup import dialect_insert
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live.models import SensitiveWord

_lock = threading.Lock()
_cache: dict[str, object] = {"key": None, "automaton": None}


def normalise(text: str) -> str:
    """Fold case and drop spaces, so "加 微 信" still matches "加微信"."""
    return "".join(text.lower().split())


def import_words(path: Path) -> int:
    """Add the words in a file (one a line, '#' comments) that are not in the list yet."""
    have = set(db.session.scalars(select(SensitiveWord.word)))
    added = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        word = normalise(line.split("#", 1)[0])
        if word and word not in have and len(word) <= 64:
            db.session.add(SensitiveWord(word=word))
            have.add(word)
            added += 1
    db.session.flush()
    return added


def _ensure_loaded() -> None:
    """Fill an empty list from the configured file (the first run of a new installation).

    Several workers may take their first question at the same moment: a word another one
    has just inserted is skipped (ON CONFLICT DO NOTHING), and both questions go on.
    """
    if db.session.scalar(select(func.count(SensitiveWord.id))):
        return
    name = current_app.config.get("SENSITIVE_WORDS_FILE")
    if name and Path(name).is_file():
        words = {normalise(line.split("#", 1)[0])
                 for line in Path(name).read_text(encoding="utf-8").splitlines()}
        rows = [{"word": w, "created_at": utcnow()} for w in sorted(words) if 0 < len(w) <= 64]
        if rows:
            connection = db.session.connection()
            connection.execute(dialect_insert(connection)(_words).on_conflict_do_nothing(
                index_elements=[_words.c.word]), rows)


_words: Table = SensitiveWord.__table__  # type: ignore[assignment]
# Which list the automaton was built from: asked on every question (another process may have
# imported words), so one small Core statement, compiled once.
_KEY = select(func.count(_words.c.id), func.max(_words.c.id))


def _automaton():
    connection = db.session.connection()
    key = tuple(connection.execute(_KEY).one())
    if not key[0]:
        _ensure_loaded()
        key = tuple(db.session.connection().execute(_KEY).one())
    with _lock:
        if _cache["key"] != key:
            automaton = ahocorasick.Automaton()
            for word in db.session.scalars(select(SensitiveWord.word)):
                automaton.add_word(word, word)
            if len(automaton):
                automaton.make_automaton()
            _cache.update(key=key, automaton=automaton)
        return _cache["automaton"]


def find_hits(text: str) -> list[str]:
    """The sensitive words found in the text, each once, in order of appearance."""
    automaton = _automaton()
    if not len(automaton):
        return []
    hits: list[str] = []
    for _end, word in automaton.iter(normalise(text)):
        if word not in hits:
            hits.append(word)
    return hits
