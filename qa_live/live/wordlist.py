"""The office's sensitive-word list: add, remove, import, export, list.

One set of operations for the office page (wordlist_views.py) and `flask words` (wordlist_cli.py).
Each writes its audit entry and moves the list version in the caller's transaction (the caller
commits), so every worker's matcher reloads after the change (sensitive.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from qa_live.audit import services as audit
from qa_live.auth.models import User
from qa_live.extensions import db
from qa_live.live.screening import fold_word
from qa_live.live.sensitive import bump_version, ensure_loaded
from qa_live.live.sensitive_models import SensitiveWord

#: The longest entry (the column's size).
WORD_MAX = 64
#: The fewest letters or digits an entry keeps after folding: one character would flag most
#: questions (一 字 is not a word), and an entry of punctuation alone would match nothing.
FOLDED_MIN = 2
#: Words named one by one in an audit entry (the count is always there).
AUDIT_WORDS = 50
#: Entries per page on the office page.
PAGE_SIZE = 50


@dataclass
class Outcome:
    """What an add, import or remove did: the words changed, and the ones left out and why."""

    changed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def parse_lines(text: str) -> list[str]:
    """The entries of a list file: one a line, '#' starts a comment, blank lines ignored."""
    words = []
    for line in text.splitlines():
        word = line.split("#", 1)[0].strip()
        if word:
            words.append(word)
    return words


def _clean(word: str) -> str:
    return " ".join(word.split())


def word_problem(word: str) -> str | None:
    """Why an entry cannot go on the list, or None."""
    if not word:
        return _("Write a word.")
    if len(word) > WORD_MAX:
        return _("A word may have at most %(n)d characters.", n=WORD_MAX)
    if len(fold_word(word)) < FOLDED_MIN:
        return _("A word needs at least %(n)d letters or digits (punctuation and spaces do "
                 "not count).", n=FOLDED_MIN)
    return None


def _by_folded() -> dict[str, SensitiveWord]:
    ensure_loaded()  # the default list first: a change must not stop it from ever loading
    return {fold_word(w.word): w for w in db.session.scalars(select(SensitiveWord))}


def _audit(action: str, actor: User | None, words: list[str], login: str | None,
           **detail: object) -> None:
    audit.record(action, user=actor, target_type="sensitive_word", login=login,
                 detail={"count": len(words), "words": words[:AUDIT_WORDS], **detail})


def add_words(words: Iterable[str], actor: User | None, *, login: str | None = None,
              action: str = "sensitive_word_add", **detail: object) -> Outcome:
    """Add entries not on the list yet (the same word in another variant counts as on it)."""
    have = _by_folded()
    outcome = Outcome()
    for raw in words:
        word = _clean(raw)
        problem = word_problem(word)
        if problem:
            outcome.skipped.append((word, problem))
            continue
        key = fold_word(word)
        if key in have:
            outcome.skipped.append((word, _("Already on the list as “%(word)s”.",
                                            word=have[key].word)))
            continue
        entry = SensitiveWord(word=word, created_by_id=actor.id if actor else None)
        db.session.add(entry)
        have[key] = entry
        outcome.changed.append(word)
    db.session.flush()
    if outcome.changed or action != "sensitive_word_add":
        _audit(action, actor, outcome.changed, login, skipped=len(outcome.skipped), **detail)
    if outcome.changed:
        bump_version()
    return outcome


def import_text(text: str, actor: User | None, *, filename: str = "",
                login: str | None = None) -> Outcome:
    """Add the entries of a list file's text (see parse_lines); entries already on it stay."""
    return add_words(parse_lines(text), actor, login=login, action="sensitive_word_import",
                     file=filename[:120])


def remove_words(words: Iterable[str], actor: User | None, *,
                 login: str | None = None) -> Outcome:
    """Take entries off the list; a word matches its entry in any variant (賭博 removes 赌博)."""
    have = _by_folded()
    outcome = Outcome()
    doomed: list[int] = []
    for raw in words:
        word = _clean(raw)
        entry = have.pop(fold_word(word), None) if word else None
        if entry is None:
            outcome.skipped.append((word, _("Not on the list.")))
            continue
        doomed.append(entry.id)
        outcome.changed.append(entry.word)
    if doomed:
        db.session.execute(delete(SensitiveWord).where(SensitiveWord.id.in_(doomed))
                           .execution_options(synchronize_session=False))
        _audit("sensitive_word_remove", actor, outcome.changed, login)
        bump_version()
    return outcome


def remove_by_id(word_id: int, actor: User | None, *, login: str | None = None) -> Outcome:
    """Take one entry off the list by its id (the office page's button)."""
    entry = db.session.get(SensitiveWord, word_id)
    if entry is None:
        return Outcome(skipped=[(str(word_id), _("Not on the list."))])
    return remove_words([entry.word], actor, login=login)


def export_text(actor: User | None, *, login: str | None = None) -> str:
    """The whole list as a file `import` reads back, sorted; the export is audited."""
    ensure_loaded()
    words = sorted(db.session.scalars(select(SensitiveWord.word)))
    _audit("sensitive_word_export", actor, [], login, exported=len(words))
    header = "# Sensitive words (敏感词), one a line; exported from qa_live.\n"
    return header + "".join(f"{w}\n" for w in words)


@dataclass
class WordPage:
    """One page of the list for the office page."""

    words: list[SensitiveWord]
    total: int
    page: int
    pages: int


def list_words(search: str = "", page: int = 1, per_page: int = PAGE_SIZE) -> WordPage:
    """The list, newest first; with ``search``, the entries containing it in any variant.

    The list is small (hundreds, a few thousand entries), so the search folds in Python:
    searching 賭 finds 赌博, and ＶＸ finds vx.
    """
    ensure_loaded()
    query = select(SensitiveWord).order_by(SensitiveWord.created_at.desc(),
                                           SensitiveWord.id.desc())
    search = search.strip()[:WORD_MAX]
    if search:
        key, plain = fold_word(search), search.casefold()
        rows = [w for w in db.session.scalars(query)
                if (key and key in fold_word(w.word)) or plain in w.word.casefold()]
        total = len(rows)
    else:
        total = db.session.scalar(select(func.count(SensitiveWord.id))) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    if search:
        words = rows[(page - 1) * per_page:page * per_page]
    else:
        words = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return WordPage(words=words, total=total, page=page, pages=pages)
