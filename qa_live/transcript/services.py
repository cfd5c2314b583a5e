"""The transcript of a held session and the archive of past sessions, read from stored rows.

Nothing here changes state: these functions gather what the transcript, print and archive
pages show. Corrections are in ``corrections.py``, ratings in ``ratings.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from qa_live.core.figures import Rate
from qa_live.extensions import db
from qa_live.live import counters
from qa_live.live.models import Answer, AnswerKind, HostPost, Question
from qa_live.planning.models import Department, LiveSession, session_departments
from qa_live.transcript import archive_index, search

#: Sessions whose page is the transcript, and the only ones in the archive.
HELD_STATES = search.HELD_STATES
#: Questions citizens may read: published, with or without an answer.
PUBLISHED = search.PUBLISHED
#: Search results per archive page.
PAGE_SIZE = 20
#: Characters of context either side of a search hit in a snippet.
SNIPPET_CONTEXT = 40
#: The longest search text accepted (a phrase, not a document).
QUERY_MAX = 50
#: The escape character for LIKE patterns: "/" reads the same on SQLite and PostgreSQL
#: (a backslash would depend on PostgreSQL's standard_conforming_strings).
LIKE_ESCAPE = "/"


@dataclass
class TranscriptEntry:
    """One published question with its answers in the order they were given."""

    question: Question
    answers: list[Answer]

    @property
    def is_answered(self) -> bool:
        """At least one answer was published."""
        return bool(self.answers)

    @property
    def second_replies(self) -> list[Answer]:
        """The answers given later, after offline work (二次答复)."""
        return [a for a in self.answers if a.kind == AnswerKind.FOLLOW_UP]


@dataclass
class Transcript:
    """Everything the transcript of one session shows."""

    session: LiveSession
    posts: list[HostPost]
    entries: list[TranscriptEntry]
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def answer_rate(self) -> Rate:
        """答复率, as the console and the statistics print it (one rule: rounded down)."""
        return counters.answer_rate(self.counts)

    @property
    def unanswered(self) -> list[TranscriptEntry]:
        """Published questions still without any answer: the departments follow them up."""
        return [e for e in self.entries if not e.is_answered]


def published_questions(session: LiveSession) -> list[Question]:
    """The session's published questions in the order they were published (never rejected
    or pending ones)."""
    return list(db.session.scalars(
        select(Question)
        .where(Question.session_id == session.id, Question.status.in_(PUBLISHED))
        .order_by(Question.published_at, Question.id)
    ))


def visible_posts(session: LiveSession) -> list[HostPost]:
    """The host's posts that were not removed, in the order they were posted."""
    return list(db.session.scalars(
        select(HostPost)
        .where(HostPost.session_id == session.id, HostPost.removed.is_(False))
        .order_by(HostPost.created_at, HostPost.id)
    ))


def build_transcript(session: LiveSession) -> Transcript:
    """The transcript (文字实录): posts, and each published question with its answers."""
    entries = [
        TranscriptEntry(q, sorted(q.answers, key=lambda a: (a.created_at, a.id)))
        for q in published_questions(session)
    ]
    return Transcript(session=session, posts=visible_posts(session), entries=entries,
                      counts=counters.counts(session.id))


# The archive ---------------------------------------------------------------------------------


def archive_years() -> list[int]:
    """Years holding at least one held session, newest first."""
    return list(db.session.scalars(
        select(LiveSession.plan_year).where(LiveSession.state.in_(HELD_STATES))
        .group_by(LiveSession.plan_year).order_by(LiveSession.plan_year.desc())
    ))


def archive_departments() -> list[Department]:
    """Departments that went online in at least one held session, by name."""
    held = (select(session_departments.c.department_id)
            .join(LiveSession, LiveSession.id == session_departments.c.session_id)
            .where(LiveSession.state.in_(HELD_STATES)))
    return list(db.session.scalars(
        select(Department).where(Department.id.in_(held)).order_by(Department.name)
    ))


def _held_sessions_filter(year: int | None, department_id: int | None) -> list[Any]:
    conditions: list[Any] = [LiveSession.state.in_(HELD_STATES)]
    if year is not None:
        conditions.append(LiveSession.plan_year == year)
    if department_id is not None:
        conditions.append(LiveSession.id.in_(
            select(session_departments.c.session_id)
            .where(session_departments.c.department_id == department_id)
        ))
    return conditions


@dataclass
class ArchivedSession:
    """A held session as the archive lists it, with its published and answered counts."""

    session: LiveSession
    published: int
    answered: int


def archive_sessions(year: int | None = None,
                     department_id: int | None = None) -> list[ArchivedSession]:
    """Held sessions, newest first, of one year and/or one department going online."""
    sessions = list(db.session.scalars(
        select(LiveSession).where(*_held_sessions_filter(year, department_id))
        .order_by(LiveSession.scheduled_start.desc(), LiveSession.id.desc())
    ))
    ids = [s.id for s in sessions]
    figures: dict[int, tuple[int, int]] = {}
    if ids:
        rows = db.session.execute(
            select(Question.session_id, func.count(Question.id),
                   func.count(Question.answered_at))
            .where(Question.session_id.in_(ids), Question.status.in_(PUBLISHED))
            .group_by(Question.session_id)
        )
        figures = {sid: (published, answered) for sid, published, answered in rows}
    return [ArchivedSession(s, *figures.get(s.id, (0, 0))) for s in sessions]


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with its own % and _ taken literally."""
    escaped = (text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
               .replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_"))
    return f"%{escaped}%"


@dataclass
class Snippet:
    """A piece of text around the first hit: before, the hit itself, after (all plain text)."""

    before: str
    hit: str
    after: str


def make_snippet(text: str, query: str, context: int = SNIPPET_CONTEXT) -> Snippet | None:
    """Cut ``text`` around the first case-insensitive occurrence of ``query``, or None."""
    at = text.lower().find(query.lower())
    if at < 0 or not query:
        return None
    start = max(0, at - context)
    end = min(len(text), at + len(query) + context)
    before = ("…" if start > 0 else "") + text[start:at]
    after = text[at + len(query):end] + ("…" if end < len(text) else "")
    return Snippet(before, text[at:at + len(query)], after)


@dataclass
class SearchHit:
    """A published question found by a search, with snippets of where the words are."""

    question: Question
    question_snippet: Snippet | None
    answer_snippet: Snippet | None
    answer: Answer | None


@dataclass
class SearchResult:
    """One page of search hits and how many there are in all (counted up to a cap)."""

    hits: list[SearchHit]
    total: int
    page: int
    pages: int
    #: More than ``total`` (search.COUNT_CAP) were found; only the first ``total`` are paged.
    capped: bool = False


def search_archive(query: str, year: int | None = None, department_id: int | None = None,
                   page: int = 1, per_page: int = PAGE_SIZE) -> SearchResult:
    """Published questions of held sessions whose text or an answer contains ``query``.

    Through the archive's index of qa_live.transcript.search (character pairs: finds
    two-character words such as 外贸 inside a sentence; the same results on SQLite and
    PostgreSQL), brought up to date first. Newest session first, each session's questions in
    the order they were asked. Counted exactly up to search.COUNT_CAP ("10,000+" beyond, and
    only that many are paged): neither the count nor the page reads a question row, so the
    time hardly depends on how many questions hold the word. See docs/transcript.md.
    """
    search.catch_up()
    counted, page, wanted = archive_index.archive_hits(query, year, department_id, page, per_page)
    total = min(counted, search.COUNT_CAP)
    pages = max(1, -(-total // per_page))
    loaded = {q.id: q for q in db.session.scalars(
        select(Question).where(Question.id.in_(wanted)).options(selectinload(Question.answers)))}
    questions = [loaded[i] for i in wanted if i in loaded]
    hits = []
    for question in questions:
        answer_hit = next(((a, s) for a in question.answers
                           if (s := make_snippet(a.body, query)) is not None), (None, None))
        hits.append(SearchHit(question, make_snippet(question.text, query),
                              answer_hit[1], answer_hit[0]))
    return SearchResult(hits=hits, total=total, page=page, pages=pages,
                        capped=counted > search.COUNT_CAP)
