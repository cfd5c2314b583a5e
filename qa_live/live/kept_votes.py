"""The published questions' vote counts a join sends, kept in memory instead of read per join.

A join's snapshot lays the current vote counts over the kept public part (snapshots.py), and a
replay's acknowledgement carries them too. Votes change without a sequence number, so each join
read them again: one query over every published question, per citizen. Here they are read once
per (session, seq) and kept until the next ``votes`` summary for the session passes through this
process's client manager (summaries.py sends one after every vote, to every worker's pages
through the message queue): the manager's observer counts them per session
(realtime.votes_generation), and a kept count is used only while that number has not moved.

Why that is exact enough: a page is in the session's room before its counts are read. A vote
whose summary went out before that has moved the number, so the counts are read anew; a vote
whose summary goes out after it reaches the page as that summary, like every page already
joined (the same holds for the questions encoded with their counts, below). With a client
manager that cannot tell of its emits (python-socketio's own, when the transport libraries are
not at a verified version) the counts are read on every join, as before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, or_, select

from qa_live.core.i18n import select_locale
from qa_live.extensions import db, socketio
from qa_live.live import realtime
from qa_live.live.models import Question, QuestionStatus
from qa_live.transport.packets import Plain, PreparedList

_questions: Table = Question.__table__  # type: ignore[assignment]
_VOTES = select(_questions.c.id, _questions.c.upvotes).where(
    _questions.c.session_id == bindparam("session_id"),
    or_(*(_questions.c.status == status
          for status in (QuestionStatus.APPROVED, QuestionStatus.ANSWERED))))

#: The summary event whose passing means the kept counts may be old (summaries.py).
VOTES_EVENT = "votes"


def note_emit(namespace: str, room: Any, event: str, data: Any) -> None:
    """The client manager's observer: a ``votes`` summary moves its session's number."""
    if event != VOTES_EVENT or not isinstance(data, dict):
        return
    session_id = data.get("session_id")
    if isinstance(session_id, int):
        with realtime.summary_lock:
            realtime.votes_generation[session_id] = (
                realtime.votes_generation.get(session_id, 0) + 1)


def observing() -> bool:
    """Whether this process's client manager tells note_emit of its emits (made so on first
    use); False where it cannot (then nothing is kept)."""
    manager = getattr(socketio.server, "manager", None)
    observers = getattr(manager, "observers", None)
    if not isinstance(observers, list):
        return False
    if note_emit not in observers:  # a short list: the heartbeat's observer and this one
        observers.append(note_emit)
    return True


def _generation(session_id: int) -> int:
    with realtime.summary_lock:
        return realtime.votes_generation.get(session_id, 0)


def read_votes(session_id: int) -> dict[int, int]:
    """The published questions' vote counts, from the database."""
    rows = db.session.connection().execute(_VOTES, {"session_id": session_id})
    return {id_: upvotes for id_, upvotes in rows}


def votes_at(session_id: int, seq: int) -> dict[int, int]:
    """The published questions' vote counts as a join at ``seq`` sends them: kept while no
    ``votes`` summary has passed since they were read (read each time where none can be seen).
    The dict is shared: read it, never change it."""
    if not observing():
        return read_votes(session_id)
    kept = realtime.of_app().kept_votes
    generation = _generation(session_id)
    found = kept.get(session_id)
    if found is not None and found[0] == seq and found[1] == generation:
        return found[2]
    votes = read_votes(session_id)  # read after the number: a later summary moves it again
    kept[session_id] = (seq, generation, votes)
    return votes


def questions_with_votes(session_id: int, seq: int,
                         questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The kept public part's questions with the current counts laid over, as one piece of
    JSON kept per (session, seq, locale) while the counts are (see the module's docstring)."""
    if not observing():
        return _laid_over(questions, read_votes(session_id))
    app_state = realtime.of_app()
    key = (session_id, seq, select_locale())
    generation = _generation(session_id)
    with app_state.public_parts_lock:
        found = app_state.voted_questions.get(key)
        if found is not None and found[0] == generation:
            app_state.voted_questions.move_to_end(key)
            return found[1]
    made = PreparedList(_laid_over(questions, votes_at(session_id, seq)))
    with app_state.public_parts_lock:
        app_state.voted_questions[key] = (generation, made)
        while len(app_state.voted_questions) > realtime.PUBLIC_PARTS_KEPT:
            app_state.voted_questions.popitem(last=False)
    return made


def _laid_over(questions: list[dict[str, Any]], votes: dict[int, int]) -> list[dict[str, Any]]:
    """The questions, each with its count from ``votes`` (the shared dicts copied only where
    the count differs)."""
    laid: list[dict[str, Any]] = []
    for q in questions:
        n = votes.get(q["id"], q["upvotes"])
        laid.append(q if n == q["upvotes"] else Plain(q, upvotes=n))
    return laid
