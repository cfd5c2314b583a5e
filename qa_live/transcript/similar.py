"""Questions answered before that are close to one being answered: a hint for the answerer.

`similar_answered` is the one lookup the console's hint uses. It builds on the archive's indexed
search (search.py: character pairs in SQLite FTS5 or a PostgreSQL GIN index): it picks a few
telling character pairs of the question, fetches answered questions of this session and of held
sessions whose text (or an answer) holds any of them, and ranks those by how many character
pairs they share with the question (the Dice coefficient of their bigram sets: Chinese has no
spaces, and shared two-character words are what makes two questions about the same thing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from qa_live.auth.models import User
from qa_live.extensions import db
from qa_live.live.commands import answerable, command
from qa_live.live.models import Question, QuestionStatus
from qa_live.live.screening import fold
from qa_live.planning.models import LiveSession
from qa_live.transcript import search
from qa_live.transcript.services import HELD_STATES

#: Hints shown at most.
LIMIT = 5
#: Character pairs of the question searched for (spread over the question).
TERMS = 8
#: Answered questions fetched for ranking, newest first.
CANDIDATES = 200
#: The least overlap (Dice coefficient of character pairs) that counts as close.
MIN_SCORE = 0.2
#: Pairs that say nothing about a question's subject.
STOP_PAIRS = frozenset(
    "请问 我们 你们 他们 什么 怎么 如何 是否 可以 能否 有没 没有 是不 不是 这个 那个 一下 一个 "
    "为什 么时 时候 哪里 多少 需要 应该 现在 目前 已经 还是 或者 以及 关于 问题 谢谢 您好 你好 "
    "政府 相关 情况 的话 了吗 吗？ 的是 是什".split())


def pairs(text: str) -> list[str]:
    """The text's character pairs, folded (so 補貼 meets 补贴), in order, each once."""
    folded = fold(text)[0]
    return list(dict.fromkeys(folded[i:i + 2] for i in range(len(folded) - 1)))


def _terms(text: str) -> list[str]:
    """Up to TERMS telling pairs of the text as written (what LIKE finds in stored text)."""
    folded, origin = fold(text)
    telling = list(dict.fromkeys(
        text[origin[i]:origin[i] + 2] for i in range(len(folded) - 1)
        if origin[i + 1] == origin[i] + 1  # side by side as written, not across punctuation
        and folded[i:i + 2] not in STOP_PAIRS and not folded[i:i + 2].isdigit()))
    if len(telling) <= TERMS:
        return telling
    step = len(telling) / TERMS
    return [telling[int(i * step)] for i in range(TERMS)]


def _score(mine: set[str], theirs: set[str]) -> float:
    if not mine or not theirs:
        return 0.0
    return 2 * len(mine & theirs) / (len(mine) + len(theirs))


@dataclass
class SimilarQuestion:
    """An answered question close to the one being answered, with its first answer."""

    question: Question
    score: float

    def as_dict(self) -> dict[str, object]:
        """The shape the console receives."""
        q = self.question
        answer = q.answers[0] if q.answers else None
        held = q.session.state in HELD_STATES
        return {
            "id": q.id,
            "text": q.text,
            "score": round(self.score, 2),
            "session": {"id": q.session_id, "title": q.session.title, "slug": q.session.slug},
            "same_session": not held,
            "answered_at": q.answered_at.isoformat() if q.answered_at else None,
            "department": answer.department.name if answer and answer.department else None,
            "answer": answer.body if answer else "",
            "link": f"/s/{q.session.slug}#q-{q.id}" if held else None,
        }


def similar_answered(question: Question, limit: int = LIMIT) -> list[SimilarQuestion]:
    """Up to `limit` answered questions, of this session or the archive, close to `question`."""
    mine = pairs(question.text)
    terms = _terms(question.text)
    if not terms:
        return []
    held = select(LiveSession.id).where(LiveSession.state.in_(HELD_STATES))
    search.catch_up()  # what changed since the last search
    rows = db.session.scalars(
        select(Question)
        .where(Question.id != question.id,
               Question.status == QuestionStatus.ANSWERED,
               or_(Question.session_id == question.session_id, Question.session_id.in_(held)),
               or_(*(search.question_condition(t) for t in terms)))
        .options(selectinload(Question.answers))
        .order_by(Question.answered_at.desc(), Question.id.desc())
        .limit(CANDIDATES)
    ).all()
    wanted = set(mine)
    ranked = [SimilarQuestion(q, _score(wanted, set(pairs(q.text)))) for q in rows]
    ranked = [r for r in ranked if r.score >= MIN_SCORE]
    ranked.sort(key=lambda r: (-r.score, -(r.question.answered_at.timestamp()
                                          if r.question.answered_at else 0)))
    return ranked[:limit]


@command("similar", audited_by_operation=True)  # a read-only lookup: no audit entry at all
def similar(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Up to 5 answered questions (this session and the archive) close to a question.

    The console asks when an answer form opens. Registered in live's command registry from
    here, above live, as follow-ups' command is (qa_live/__init__.py, _connect_receivers).
    """
    question = answerable(user, session, data)
    return {"question_id": question.id,
            "similar": [hit.as_dict() for hit in similar_answered(question)]}
