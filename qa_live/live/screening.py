"""Folding text the way people vary sensitive words, and finding where a word sits in a text.

Screening matches the *folded* text against the *folded* word list (qa_live/live/sensitive.py),
so that the variants people use to slip a word past a filter meet the word itself:

- NFKC: full-width Latin and digits (ＶＸ, １２３), circled and compatibility forms become plain;
- case folding: "WeChat", "WECHAT" and "wechat" are one word;
- traditional to simplified (OpenCC's ``t2s`` tables, character by character): 賭博 is 赌博;
- only letters and digits are kept: spaces, punctuation, symbols, emoji, combining marks and
  invisible characters (zero-width space and joiners, soft hyphen, BOM) are dropped, so
  赌.博, 赌*博, 赌 博, 赌\u200b博 and 赌̶博 all read 赌博.

Every folded character remembers the index of the character of the original text it came from,
so a hit is reported as a span of the text as written: the console marks 赌.博, not 赌博.
docs/security.md lists the rules with examples.

Folding is context-free (each character on its own) on purpose: a word folds the same alone in
the list as inside a sentence, so the two always meet. It drops sentence punctuation too, which
can join the end of one sentence to the start of the next; a hit only sends a question to a
moderator, never rejects it, so an occasional false hit costs a glance while a missed variant
publishes abuse.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass

import opencc

#: Folded characters kept per process (one entry per distinct character seen).
_CACHE_MAX = 65_536
_cache: dict[str, str] = {}
_converter_lock = threading.Lock()
_converter: list[opencc.OpenCC] = []


def _t2s() -> opencc.OpenCC:
    """OpenCC's traditional → simplified converter, made once per process."""
    if not _converter:
        with _converter_lock:
            if not _converter:
                _converter.append(opencc.OpenCC("t2s"))
    return _converter[0]


def fold_char(ch: str) -> str:
    """One character folded: '' when it is dropped, else usually one character."""
    folded = _cache.get(ch)
    if folded is None:
        plain = unicodedata.normalize("NFKC", ch).casefold()
        kept = "".join(c for c in plain if unicodedata.category(c)[0] in "LN")
        if kept:
            simple = _t2s().convert(kept)
            # Keep the folded text the same length as what went in, so positions hold.
            kept = simple if len(simple) == len(kept) else kept
        folded = kept
        if len(_cache) < _CACHE_MAX:
            _cache[ch] = folded
    return folded


def fold(text: str) -> tuple[str, list[int]]:
    """The folded text, and for each of its characters the index it came from in ``text``."""
    parts: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        folded = fold_char(ch)
        if folded:
            parts.append(folded)
            origin.extend([index] * len(folded))
    return "".join(parts), origin


def fold_word(word: str) -> str:
    """A list entry folded as texts are, for matching and for spotting duplicates."""
    return fold(word)[0]


def is_latin(ch: str) -> bool:
    """A folded Latin letter (a-z): such words only match as whole words."""
    return "a" <= ch <= "z"


@dataclass(frozen=True)
class Hit:
    """A list word found in a text: the entry as the office wrote it and where it stands."""

    word: str
    start: int  # index of the first character in the original text
    end: int  # index after the last one
    text: str  # text[start:end]: what the citizen actually wrote

    def as_dict(self) -> dict[str, object]:
        """The shape staff consoles receive."""
        return {"word": self.word, "start": self.start, "end": self.end, "text": self.text}


def hit_at(text: str, origin: list[int], word: str, key: str, first: int) -> Hit | None:
    """The hit of ``word`` (folded: ``key``) from folded position ``first``, or None when it
    does not stand as a word there.

    A word starting (or ending) with a Latin letter must not be preceded (or followed) in the
    original text by another Latin letter: "sb" is a hit in "你是sb" and "s b", not in "usb".
    """
    start, end = origin[first], origin[first + len(key) - 1] + 1
    if is_latin(key[0]) and start > 0:
        before = fold_char(text[start - 1])
        if before and is_latin(before[-1]):
            return None
    if is_latin(key[-1]) and end < len(text):
        after = fold_char(text[end])
        if after and is_latin(after[0]):
            return None
    return Hit(word=word, start=start, end=end, text=text[start:end])


def locate(text: str, words: list[str]) -> list[Hit]:
    """Every place in ``text`` where one of ``words`` stands (for marking, not screening).

    Used to show staff the stored hits of a question as spans of its current wording; a plain
    search, as the few words of one question need no automaton.
    """
    folded, origin = fold(text)
    hits: list[Hit] = []
    for word in dict.fromkeys(w for w in words if w):
        key = fold_word(word)
        if not key:
            continue
        at = folded.find(key)
        while at != -1:
            hit = hit_at(text, origin, word, key, at)
            if hit is not None:
                hits.append(hit)
            at = folded.find(key, at + 1)
    hits.sort(key=lambda h: (h.start, h.end))
    return hits
