"""The figures of a few questions, so a change recounts what it touched, not its session.

A session's stored figures (stats.stored) are sums over its questions: each question, with its
answers and ratings, adds to one (session, department) group and one wait. So when a few
questions change, the session's figures after the change are the stored ones minus what those
questions added before it plus what they add after it (stats.maintained, on a write). The
counting is the same grouped queries of stats.grouped, restricted to the questions' ids, so the
sums are the figures a count from scratch gives (the tests compare them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, func, select

from qa_live.extensions import db
from qa_live.live.metrics import first_answer_at, is_answered, seconds_between
from qa_live.live.models import Question
from qa_live.stats import grouped
from qa_live.stats.figures import Counts

#: Questions counted per query (well under SQLite's limit on bound parameters).
CHUNK = 5_000

Groups = dict[int | None, Counts]
Waits = dict[tuple[int | None, int], int]


@dataclass
class Part:
    """What some questions of one session add: per department, and the waits they add."""

    groups: Groups = field(default_factory=dict)
    waits: Waits = field(default_factory=dict)
    latest: datetime | None = None


SESSIONS: BindParameter[Any] = bindparam("sessions", expanding=True)
QUESTIONS: BindParameter[Any] = bindparam("questions", expanding=True)


@cache
def _statements() -> tuple[Select, Select, Select, Select, Select]:
    """The grouped statements of stats.grouped for a few questions by id, built once: a write
    runs them twice, and building them costs more than running them."""
    wait = seconds_between(first_answer_at(), Question.created_at)
    waits = (select(Question.session_id, Question.department_id, wait, func.count())
             .where(Question.session_id.in_(SESSIONS), Question.id.in_(QUESTIONS),
                    is_answered(), first_answer_at().is_not(None))
             .group_by(Question.session_id, Question.department_id, wait))
    return (grouped.question_counts_query(SESSIONS, question_ids=QUESTIONS),
            grouped.second_reply_query(SESSIONS, question_ids=QUESTIONS),
            grouped.rating_query(SESSIONS, question_ids=QUESTIONS),
            waits,
            grouped.latest_answers_query(SESSIONS, QUESTIONS))


def figures(session_ids: Sequence[int], question_ids: Sequence[int]) -> dict[int, Part]:
    """What these questions add to their sessions' figures now.

    Follow-ups and visits are not in a Part: follow-ups are always counted on the page, visits
    belong to the session, not to a question.
    """
    parts: dict[int, Part] = {s: Part() for s in session_ids}
    ids = sorted(set(question_ids))
    for start in range(0, len(ids), CHUNK):
        _add_chunk(parts, {"sessions": list(session_ids),
                           "questions": ids[start:start + CHUNK]})
    return parts


def _add_chunk(parts: dict[int, Part], ids: dict[str, list[int]]) -> None:
    questions, second_replies, ratings, waits, answers = _statements()
    counts, latest = grouped.read_question_counts(db.session.execute(questions, ids))
    for (s, d), group in counts.items():
        parts[s].groups.setdefault(d, Counts()).add(group)
    for s, d, n in db.session.execute(second_replies, ids):
        parts[s].groups.setdefault(d, Counts()).second_replies += n
    for (s, d), values in grouped.read_ratings(db.session.execute(ratings, ids), latest).items():
        parts[s].groups.setdefault(d, Counts()).add(Counts(**values))
    for s, d, seconds, n in db.session.execute(waits, ids):
        key = (d, int(seconds))
        parts[s].waits[key] = parts[s].waits.get(key, 0) + n
    for s, moment in db.session.execute(answers, ids):
        if moment is not None:
            latest[s] = max(latest.get(s, moment), moment)
    for s, moment in latest.items():
        part = parts[s]
        part.latest = moment if part.latest is None else max(part.latest, moment)


def difference(after: Part, before: Part) -> Part:
    """after − before, group by group (a group or wait that nets to nothing is left out)."""
    result = Part(latest=after.latest)
    for d in set(after.groups) | set(before.groups):
        a, b = after.groups.get(d, Counts()), before.groups.get(d, Counts())
        delta = Counts(**{f.name: getattr(a, f.name) - getattr(b, f.name) for f in fields(Counts)})
        if any(getattr(delta, f.name) for f in fields(Counts)):
            result.groups[d] = delta
    for key in set(after.waits) | set(before.waits):
        n = after.waits.get(key, 0) - before.waits.get(key, 0)
        if n:
            result.waits[key] = n
    return result


def apply(groups: Groups, waits: Waits, delta: Part) -> None:
    """Add a difference into a session's figures (groups and waits left at zero are dropped)."""
    for d, change in delta.groups.items():
        total = groups.setdefault(d, Counts()).add(change)
        if not any(getattr(total, f.name) for f in fields(Counts)):
            del groups[d]
    for key, n in delta.waits.items():
        seconds = waits.get(key, 0) + n
        if seconds:
            waits[key] = seconds
        else:
            waits.pop(key, None)
