"""A group of asks checked in one statement and inserted in another (intake's group writer).

Group commit (live/group_commit.py) writes the asks that gathered while the last transaction
was written in one transaction. Asked one after another each would be two statements (its
checks, its insert): at a thousand questions a second those statements, and SQLAlchemy's work
around each, were the largest share of a question's cost after the socket's own. Here the
group's checks are one statement (one row per ask: the checks of intake.checks_select joined by
UNION ALL) and its new questions one multi-row ``INSERT … RETURNING`` (SQLAlchemy's
"insertmanyvalues"); on PostgreSQL that is two round trips for the group instead of two per ask.

The rules are intake's, judged per ask in the group's order, as if each ask had been written
before the next was checked: a client_id used earlier in the group is the same question for the
same visitor (a duplicate, not stored twice) and ``forbidden`` for another; the visitor's live
questions earlier in the group count towards their pace (interval and total). Each refusal is
that ask's own answer, in its asker's language; anything else fails the group, which
group_commit writes again one ask at a time.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import CompoundSelect, Select, literal_column, union_all

from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import intake
from qa_live.live.group_commit import Pending
from qa_live.live.models import Question, QuestionSource
from qa_live.live.services import QuestionRefused


def submit_group(group: list[Pending]) -> None:
    """Check and insert a group of asks (intake.GroupAsk) in its transaction, not committed;
    set each one's result (intake.Asked) or its refusal."""
    asks = [_asked(item) for item in group]
    if len(asks) == 1:  # alone: the two statements of before, already prepared on PostgreSQL
        try:
            group[0].result = asks[0]()
        except QuestionRefused as exc:
            group[0].error = exc
        return
    db.session.flush()  # the checks read the database: let them see what the caller changed
    connection = db.session.connection()
    # The statement is made (and compiled) once per power of two: a group of 5 is checked by
    # the statement for 8, the last 3 asking about session 0, which matches no row.
    size = 1 << (len(asks) - 1).bit_length()
    params: dict[str, Any] = {}
    for k in range(size):
        one = asks[k] if k < len(asks) else None
        params.update({f"session_id_{k}": one.session_id if one else 0,
                       f"visitor_{k}": one.visitor_id if one else "",
                       f"client_id_{k}": one.data.client_id if one else ""})
    checks = {row.k: row for row in connection.execute(_checks(size), params)}
    # What the asks before in this group did: client_ids taken (by whom, which ask), and each
    # visitor's live questions (how many, the last one's time).
    taken: dict[tuple[int, str], tuple[str, int]] = {}
    paced: dict[tuple[int, str], tuple[int, Any]] = {}
    outcomes: list[Question | intake.Planned | int | None] = []
    for k, (item, one) in enumerate(zip(group, asks, strict=True)):
        outcome: Question | intake.Planned | int | None = None
        try:
            with intake.speaking(one.locale):
                outcome = _judge(one, checks.get(k), taken, paced)
        except QuestionRefused as exc:
            item.error = exc
        outcomes.append(outcome)
        if isinstance(outcome, intake.Planned):
            taken[(one.session_id, one.data.client_id)] = (one.visitor_id, k)
            if one.source == QuestionSource.LIVE:
                count = paced.get((one.session_id, one.visitor_id), (0, None))[0]
                paced[(one.session_id, one.visitor_id)] = (count + 1, outcome.now)
    rows = [outcome.values for outcome in outcomes if isinstance(outcome, intake.Planned)]
    inserted: dict[tuple[int, str], int] = {}
    if rows:
        # Rows come back in any order, without those whose client_id was taken meanwhile.
        inserted = {(session_id, client_id): question_id for question_id, session_id, client_id
                    in connection.execute(intake.INSERT[connection.dialect.name], rows)}
    ids: dict[int, int] = {}  # the ask's place in the group → its new question's id
    for k, (item, one, outcome) in enumerate(zip(group, asks, outcomes, strict=True)):
        if outcome is None:
            continue
        try:
            with intake.speaking(one.locale):
                item.result = _answer(one, outcome, inserted, ids, k)
        except QuestionRefused as exc:
            item.error = exc


def _judge(one: intake.GroupAsk, checks: Any, taken: dict[tuple[int, str], tuple[str, int]],
           paced: dict[tuple[int, str], tuple[int, Any]]) -> Question | intake.Planned | int:
    """An ask's checks, with what the asks before it in the group did: the stored question
    under its client_id, the place of the earlier ask it repeats, or the row to insert."""
    intake.refuse_unsigned(one.signed_in)
    earlier = taken.get((one.session_id, one.data.client_id))
    if earlier is not None:
        if earlier[0] != one.visitor_id:
            raise QuestionRefused(_("This question id belongs to someone else."), "forbidden")
        return earlier[1]
    asked, last = paced.get((one.session_id, one.visitor_id), (0, None))
    return intake.plan(checks, one.session_id, one.visitor_id, one.data, one.source, utcnow(),
                       asked_before=asked, last_before=last)


def _answer(one: intake.GroupAsk, outcome: Question | intake.Planned | int,
            inserted: dict[tuple[int, str], int], ids: dict[int, int], k: int) -> intake.Asked:
    """What an ask of the group is told, its question inserted (not committed yet)."""
    if isinstance(outcome, Question):  # stored before this group
        return intake.answer(outcome, False, None)
    if isinstance(outcome, int):  # the same question as an earlier ask of the group
        return intake.answer(intake.stored(ids[outcome], one.visitor_id), False, None)
    question_id = inserted.get((one.session_id, one.data.client_id))
    if question_id is None:  # another worker stored this client_id after the checks
        question = intake.taken_meanwhile(one.session_id, one.data.client_id, one.visitor_id)
        ids[k] = question.id
        return intake.answer(question, False, None)
    ids[k] = question_id
    copy, told = intake.made(question_id, outcome)
    return intake.answer(copy, True, told)


def _asked(item: Pending) -> intake.GroupAsk:
    work = item.work
    assert isinstance(work, intake.GroupAsk)
    return work


@cache
def _checks(n: int) -> CompoundSelect | Select[Any]:
    """The checks of ``n`` asks in one statement, a row each, numbered ``k`` (built once)."""
    selects = [intake.checks_select(f"_{k}").add_columns(literal_column(str(k)).label("k"))
               for k in range(n)]
    return selects[0] if n == 1 else union_all(*selects)
