"""The archive's indexed search: every substring found, on SQLite and PostgreSQL alike, and the
index kept up with every change (services, bulk SQL, corrections, deletions)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, update

from qa_live.extensions import db
from qa_live.live.models import Answer, Question
from qa_live.planning.models import LiveSession
from qa_live.transcript import search

POOL = "外贸企业出口信用保险补贴申请市场商务电子口岸税费退款%_ABCabc1 ，？"


def _session() -> LiveSession:
    start = datetime(2025, 3, 10, 1, 30, tzinfo=UTC)
    session = LiveSession(slug=f"s-{uuid.uuid4().hex[:8]}", title="检索", scheduled_start=start,
                          scheduled_end=start, plan_year=2025, state="ended", started_at=start,
                          ended_at=start)
    db.session.add(session)
    db.session.flush()
    return session


def _question(session: LiveSession, text: str) -> int:
    return db.session.execute(insert(Question).values(
        session_id=session.id, client_id=str(uuid.uuid4()), visitor_id="v",
        access_token=uuid.uuid4().hex, nickname="", source="live", original_text=text,
        text=text, status="approved", department_id=None, upvotes=0, pinned=False,
        needs_follow_up=False, sensitive_hits="", created_at=session.scheduled_start,
    ).returning(Question.id)).scalar_one()


def _answer(question_id: int, body: str) -> int:
    return db.session.execute(insert(Answer).values(
        question_id=question_id, kind="live", body=body, created_at=datetime.now(UTC),
    ).returning(Answer.id)).scalar_one()


def found(query: str) -> set[int]:
    search.catch_up()
    return set(db.session.scalars(search.matching_question_ids(query)))


def oracle(query: str) -> set[int]:
    q = query.lower()
    ids = {i for i, t in db.session.execute(select(Question.id, Question.text))
           if q in t.lower()}
    ids |= {i for i, b in db.session.execute(select(Answer.question_id, Answer.body))
            if q in b.lower()}
    return ids


def test_every_substring_is_found_and_nothing_else_on_every_database(any_db_app):
    rng = random.Random(14)
    session = _session()
    texts = []
    for _ in range(150):
        text = "".join(rng.choice(POOL) for _ in range(rng.randint(1, 30)))
        qid = _question(session, text)
        texts.append(text)
        if rng.random() < 0.5:
            body = "".join(rng.choice(POOL) for _ in range(rng.randint(1, 40)))
            _answer(qid, body)
            texts.append(body)
    db.session.commit()
    queries = {"外贸", "贸", "外贸企业", "%", "_", "100%", "abc", "ABC", "A_B", "？", " ",
               "不在这里", "税费退款"}
    for _ in range(120):
        text = rng.choice(texts)
        start = rng.randrange(len(text))
        queries.add(text[start:start + rng.randint(1, 6)])
    for query in sorted(queries):
        assert found(query) == oracle(query), query


def test_a_two_character_word_inside_a_sentence_and_in_an_answer(any_db_app):
    session = _session()
    sentence = _question(session, "小微外贸企业申请出口信用保险有没有保费补贴？")
    other = _question(session, "对外贸易的数据在哪里查？")
    answered = _question(session, "预付卡商家跑路了怎么办？")
    _answer(answered, "可以申请退款，外贸处会协助。")
    db.session.commit()
    assert found("外贸") == {sentence, other, answered}
    assert found("外贸企业") == {sentence}
    assert found("退款") == {answered}
    assert found("贸") == {sentence, other, answered}
    assert found("外贸企业申请出口信用保险") == {sentence}
    assert found("企业外贸") == set()


def test_the_index_follows_corrections_bulk_updates_and_deletions(any_db_app):
    session = _session()
    qid = _question(session, "出口退税怎么办理？")
    aid = _answer(qid, "请到税务窗口办理。")
    db.session.commit()
    assert found("退税") == {qid} and found("窗口") == {qid}
    # A correction through bulk SQL (the triggers see it too), twice before the next search.
    db.session.execute(update(Question).where(Question.id == qid).values(text="出口退款怎么办理？"))
    db.session.execute(update(Question).where(Question.id == qid).values(text="进口退款怎么办理？"))
    db.session.commit()
    assert found("退税") == set() and found("出口") == set() and found("进口退款") == {qid}
    db.session.execute(delete(Answer).where(Answer.id == aid))
    db.session.commit()
    assert found("窗口") == set()
    db.session.execute(delete(LiveSession).where(LiveSession.id == session.id))
    db.session.commit()
    assert found("退款") == set()
    assert db.session.scalar(select(func.count()).select_from(search.SearchQueue)) == 0


def test_reindex_gives_the_same_results(any_db_app):
    session = _session()
    qid = _question(session, "家政服务员培训有没有补贴？")
    db.session.commit()
    assert found("补贴") == {qid}
    result = any_db_app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0 and "text(s) indexed" in result.output
    assert found("补贴") == {qid} and found("家政") == {qid}


def test_the_archive_pages_through_many_hits_in_order(any_db_app):
    from qa_live.transcript import services

    session = _session()
    ids = [_question(session, f"外贸问题{n:02d}") for n in range(25)]
    db.session.execute(update(Question).values(published_at=Question.created_at))
    db.session.commit()
    first = services.search_archive("外贸", per_page=20)
    assert (first.total, first.pages, first.page) == (25, 2, 1)
    assert [h.question.id for h in first.hits] == ids[:20]
    last = services.search_archive("外贸", page=99, per_page=20)
    assert (last.total, last.page) == (25, 2) and [h.question.id for h in last.hits] == ids[20:]
    assert services.search_archive("无此词", page=3).total == 0
