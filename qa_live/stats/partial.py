"""The figures of a few questions, so a change recounts what it touched, not its session.

A session's stored figures (stats.stored) are sums over its questions: each question, with its
answers and ratings, adds to one (session, department) group and one wait. So when a few
questions change, the session's figures after the change are the stored ones minus what those
questions added before it plus what they add after it (stats.maintained, on a write), and its
figures as of a past moment are the stored ones minus what the questions that differ then add
now plus what they added then (stats.past). The counting is the same grouped queries of
stats.grouped, restricted to the questions' ids, so the sums are the figures a count from
scratch gives (the tests compare them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime

from sqlalchemy import func, select

from qa_live.extensions import db
from qa_live.live.metrics import asked_by, first_answer_at, is_answered, seconds_between
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


def figures(session_ids: Sequence[int], question_ids: Sequence[int],
            at: datetime | None = None) -> dict[int, Part]:
    """What these questions add to their sessions' figures (now, or as of ``at``).

    Follow-ups and visits are not in a Part: follow-ups are always counted on the page, visits
    belong to the session, not to a question.
    """
    parts: dict[int, Part] = {s: Part() for s in session_ids}
    ids = sorted(set(question_ids))
    for start in range(0, len(ids), CHUNK):
        _add_chunk(parts, list(session_ids), ids[start:start + CHUNK], at)
    return parts


def _add_chunk(parts: dict[int, Part], session_ids: list[int], ids: list[int],
               at: datetime | None) -> None:
    latest: dict[int, datetime] = {}
    counts, latest = grouped.question_counts_and_latest(session_ids, None, at, ids)
    for (s, d), group in counts.items():
        parts[s].groups.setdefault(d, Counts()).add(group)
    for (s, d), n in grouped.second_reply_counts(session_ids, None, at, ids).items():
        parts[s].groups.setdefault(d, Counts()).second_replies += n
    for (s, d), values in grouped.rating_counts(session_ids, None, at, latest, ids).items():
        parts[s].groups.setdefault(d, Counts()).add(Counts(**values))
    for (s, d, seconds), n in wait_counts(session_ids, ids, at).items():
        key = (d, seconds)
        parts[s].waits[key] = parts[s].waits.get(key, 0) + n
    if at is None:
        for s, moment in grouped.latest_answers(session_ids, ids).items():
            latest[s] = max(latest.get(s, moment), moment)
    for s, moment in latest.items():
        part = parts[s]
        part.latest = moment if part.latest is None else max(part.latest, moment)


def wait_counts(session_ids: Sequence[int], question_ids: Sequence[int],
                at: datetime | None = None) -> dict[tuple[int, int | None, int], int]:
    """live.metrics.wait_counts for these questions only (the same expressions)."""
    wait = seconds_between(first_answer_at(), Question.created_at)
    query = (select(Question.session_id, Question.department_id, wait, func.count())
             .where(Question.session_id.in_(session_ids), Question.id.in_(question_ids),
                    is_answered(at), first_answer_at().is_not(None), *asked_by(at))
             .group_by(Question.session_id, Question.department_id, wait))
    return {(s, d, int(w)): n for s, d, w, n in db.session.execute(query)}


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
