"""The archive's own search index (migration 0014a, docs/transcript.md): it holds exactly the
published questions of held sessions, in the archive's order, with their year and departments,
through every change the services (and bulk SQL, imports, reindexing) make; and a count past
10,000 is shown as "10,000+", on SQLite and PostgreSQL alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select, text, update

from qa_live.auth import services as auth_services
from qa_live.auth.models import Role, User
from qa_live.extensions import db
from qa_live.live import answers as live_answers
from qa_live.live.models import Answer, AnswerKind, Question, QuestionStatus
from qa_live.live.services import set_question_status
from qa_live.planning import services as planning
from qa_live.planning.models import Department, LiveSession, SessionState, session_departments
from qa_live.transcript import archive_index, archive_pg, corrections, search, services
from tests.test_imports import DEPARTMENTS, SEED

QUERIES = ("外贸", "补贴", "退税", "窗口", "税", "企业", "物流", "不在这里")


def _office() -> User:
    user = auth_services.create_user(f"office-{uuid.uuid4().hex[:6]}", "办公室", "pw-long-enough-1",
                                     [Role.OFFICE], [])
    db.session.commit()
    return user


def _session(start: datetime, departments: list[Department], title: str = "专场") -> LiveSession:
    draft = planning.SessionDraft(
        title=title, description="", scheduled_start=start,
        scheduled_end=start + timedelta(hours=2), department_ids=[d.id for d in departments],
        host_ids=[], answerer_ids=[], precollect_opens_at=None, precollect_closes_at=None)
    session = planning.create_session(draft, None)
    planning.change_state(session, SessionState.ANNOUNCED, start - timedelta(days=7))
    planning.change_state(session, SessionState.LIVE, start)
    db.session.commit()
    return session


def _end(session: LiveSession) -> None:
    planning.change_state(session, SessionState.ENDED, session.scheduled_end)
    db.session.commit()


def _ask(session: LiveSession, text: str) -> Question:
    qid = db.session.execute(insert(Question).values(
        session_id=session.id, client_id=str(uuid.uuid4()), visitor_id="v",
        access_token=uuid.uuid4().hex, nickname="", source="live", original_text=text,
        text=text, status="pending", department_id=None, upvotes=0, pinned=False,
        needs_follow_up=False, sensitive_hits="", created_at=session.scheduled_start,
    ).returning(Question.id)).scalar_one()
    db.session.commit()
    return db.session.get(Question, qid)


def _publish(question: Question) -> None:
    set_question_status(question, QuestionStatus.APPROVED)
    db.session.commit()


def oracle(query: str, year: int | None = None, department_id: int | None = None) -> list[int]:
    """What the archive must list, read from the rows in Python: published questions of held
    sessions whose text or an answer contains the words, newest session (by its start minute)
    first, then in the order asked."""
    q = query.lower()
    bodies: dict[int, list[str]] = {}
    for qid, body in db.session.execute(select(Answer.question_id, Answer.body)):
        bodies.setdefault(qid, []).append(body.lower())
    rows = db.session.execute(
        select(Question.id, Question.text, Question.status, LiveSession.id, LiveSession.state,
               LiveSession.scheduled_start, LiveSession.plan_year)
        .join(LiveSession, LiveSession.id == Question.session_id)).all()
    online = {}
    for sid, did in db.session.execute(select(session_departments.c.session_id,
                                              session_departments.c.department_id)):
        online.setdefault(sid, set()).add(did)
    hits = [
        (-int(start.timestamp() // 60), qid)
        for qid, text, status, sid, state, start, plan_year in rows
        if status in services.PUBLISHED and state in services.HELD_STATES
        and (q in text.lower() or any(q in b for b in bodies.get(qid, [])))
        and (year is None or plan_year == year)
        and (department_id is None or department_id in online.get(sid, set()))
    ]
    return [qid for _key, qid in sorted(hits)]


def listed(query: str, year: int | None = None, department_id: int | None = None) -> list[int]:
    """Every question the archive's search lists for the words, page by page."""
    first = services.search_archive(query, year, department_id, per_page=3)
    ids = [hit.question.id for hit in first.hits]
    for page in range(2, first.pages + 1):
        ids += [hit.question.id for hit in
                services.search_archive(query, year, department_id, page, per_page=3).hits]
    assert first.total == len(ids) and not first.capped
    return ids


def assert_archive_matches(departments: list[Department], years=(None, 2024, 2025)) -> None:
    for query in QUERIES:
        for year in years:
            for department_id in (None, *(d.id for d in departments)):
                assert listed(query, year, department_id) == oracle(query, year, department_id), \
                    (query, year, department_id)


def test_the_archive_follows_every_change_a_question_and_its_session_go_through(any_db_app):
    trade = planning.create_department("对外贸易处")
    port = planning.create_department("口岸物流处")
    db.session.commit()
    office = _office()
    older = _session(datetime(2024, 11, 5, 2, tzinfo=UTC), [trade], "稳外贸")
    newer = _session(datetime(2025, 3, 10, 1, 30, tzinfo=UTC), [trade, port], "口岸物流")
    asked = {name: _ask(s, text) for name, s, text in [
        ("a", older, "小微外贸企业有没有补贴？"), ("b", older, "出口退税在哪个窗口办理？"),
        ("c", newer, "外贸企业物流费用能减免吗？"), ("d", newer, "跨境物流补贴怎么申请？"),
        ("e", newer, "外贸综合服务企业退税？"), ("f", newer, "税费缴纳的期限是什么？"),
        ("pending", newer, "外贸企业的补贴什么时候到账？"),
    ]}
    for name in "abcdef":
        _publish(asked[name])
    live_answers.publish_answer(asked["b"], office, "请到税务窗口办理，外贸企业可网上申请。")
    db.session.commit()
    # Live sessions are not in the archive yet.
    assert services.search_archive("外贸").total == 0
    _end(older)
    assert listed("外贸") == [asked["a"].id, asked["b"].id] == oracle("外贸")
    _end(newer)
    assert listed("外贸")[:3] == [asked["c"].id, asked["e"].id, asked["a"].id]
    assert_archive_matches([trade, port])

    # After the session, each followed by a search: a pending question published, a published
    # one rejected, second replies (to an unanswered and to an answered question), corrections
    # of a question and of an answer.
    _publish(asked["pending"])
    assert asked["pending"].id in listed("外贸")
    set_question_status(asked["e"], QuestionStatus.REJECTED)
    db.session.commit()
    assert asked["e"].id not in listed("外贸")
    reply = live_answers.publish_answer(asked["f"], office, "可到口岸窗口咨询外贸政策。",
                                        kind=AnswerKind.FOLLOW_UP)
    db.session.commit()
    assert asked["f"].id in listed("外贸")
    live_answers.publish_answer(asked["b"], office, "二次答复：口岸物流处已协调。",
                                kind=AnswerKind.FOLLOW_UP)
    db.session.commit()
    assert asked["b"].id in listed("物流")
    corrections.correct_question(asked["a"], office, "小微企业有没有物流补贴？")
    db.session.commit()
    assert asked["a"].id not in listed("外贸") and asked["a"].id in listed("物流")
    corrections.correct_answer(reply, office, "可到口岸窗口咨询退税政策。")
    db.session.commit()
    assert asked["f"].id not in listed("外贸") and asked["f"].id in listed("退税")
    assert_archive_matches([trade, port])

    # The session's start, year and departments changed by bulk SQL; archived; an answer and a
    # question deleted.
    db.session.execute(update(LiveSession).where(LiveSession.id == older.id).values(
        scheduled_start=datetime(2025, 6, 1, 1, tzinfo=UTC), plan_year=2025))
    db.session.commit()
    assert listed("补贴")[0] == asked["a"].id  # the older session now first
    assert listed("补贴", 2024) == []
    db.session.execute(delete(session_departments).where(
        session_departments.c.session_id == newer.id,
        session_departments.c.department_id == port.id))
    db.session.commit()
    assert listed("物流", department_id=port.id) == []
    db.session.execute(insert(session_departments).values(session_id=older.id,
                                                          department_id=port.id))
    db.session.commit()
    assert listed("物流", department_id=port.id) == [asked["a"].id, asked["b"].id]
    db.session.execute(delete(Answer).where(Answer.id == reply.id))
    db.session.execute(delete(Question).where(Question.id == asked["d"].id))
    db.session.commit()
    assert asked["f"].id not in listed("退税") and asked["d"].id not in listed("物流")
    planning.change_state(newer, SessionState.ARCHIVED)
    db.session.commit()
    assert_archive_matches([trade, port])

    # A session going back out of the archive (bulk SQL) and coming back.
    db.session.execute(update(LiveSession).where(LiveSession.id == newer.id)
                       .values(state=SessionState.LIVE))
    db.session.commit()
    assert set(listed("外贸")) <= {asked["a"].id, asked["b"].id}
    db.session.execute(update(LiveSession).where(LiveSession.id == newer.id)
                       .values(state=SessionState.ENDED))
    db.session.commit()
    assert_archive_matches([trade, port])
    # A cancelled session's published (precollected) questions never enter it.
    cancelled = _session(datetime(2025, 9, 1, 1, tzinfo=UTC), [trade], "取消")
    db.session.execute(update(LiveSession).where(LiveSession.id == cancelled.id)
                       .values(state=SessionState.CANCELLED))
    _publish(_ask(cancelled, "外贸企业的物流补贴"))
    assert_archive_matches([trade, port])

    # Reindexing gives the very same archive.
    result = any_db_app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert_archive_matches([trade, port])
    assert db.session.scalar(select(db.func.count()).select_from(search.SearchQueue)) == 0


def test_an_imported_year_is_in_the_archive_and_stays_after_reindexing(any_db_app):
    any_db_app.config["BABEL_DEFAULT_LOCALE"] = "en"
    for name in DEPARTMENTS:
        planning.create_department(name)
    db.session.commit()
    runner = any_db_app.test_cli_runner()
    done = runner.invoke(args=["sessions", "import", str(SEED)])
    assert done.exit_code == 0, done.output
    departments = list(db.session.scalars(select(Department)))
    words = ("外贸", "企业", "补贴", "税", "口岸", "电子商务")
    expected = {(w, d.id): oracle(w, 2013, d.id) for w in words for d in departments}
    assert sum(len(ids) for ids in expected.values()) > 20  # the seed has them
    for (word, department_id), ids in expected.items():
        assert listed(word, 2013, department_id) == ids, (word, department_id)
    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    for (word, department_id), ids in expected.items():
        assert listed(word, 2013, department_id) == ids, (word, department_id)


def test_past_the_count_cap_the_archive_says_so_and_pages_the_first_ones(any_db_app, monkeypatch):
    monkeypatch.setattr(search, "COUNT_CAP", 7)
    trade = planning.create_department("对外贸易处")
    db.session.commit()
    session = _session(datetime(2025, 3, 10, 1, 30, tzinfo=UTC), [trade])
    ids = [_ask(session, f"外贸问题{n:02d}").id for n in range(10)]
    for qid in ids:
        _publish(db.session.get(Question, qid))
    _end(session)
    first = services.search_archive("外贸", per_page=5)
    assert (first.total, first.capped, first.pages) == (7, True, 2)
    assert [h.question.id for h in first.hits] == ids[:5]
    last = services.search_archive("外贸", page=9, per_page=5)
    assert last.page == 2 and [h.question.id for h in last.hits] == ids[5:7]
    exact = services.search_archive("问题0", per_page=5)  # 问题00 … 问题09: ten, still capped
    assert exact.capped and exact.total == 7
    assert services.search_archive("问题01").total == 1
    assert not services.search_archive("问题01").capped

    client = any_db_app.test_client()
    zh = client.get("/archive?q=外贸").get_data(as_text=True)
    assert "找到 7 个以上" in zh and "只列出前 7 个" in zh
    en = client.get("/archive?q=外贸&lang=en").get_data(as_text=True)
    assert "More than 7 questions found" in en and "only the first 7 are listed" in en


def test_postgresql_reads_the_same_pages_in_one_key_range_or_many(any_db_app, monkeypatch):
    """PostgreSQL reads the first pages by walking the key index or taking every hit, and deeper
    ones a range of keys at a time (sized from estimates and the key histogram): in one range,
    in many small ones, without a histogram, with a year, past the count cap, every page, count
    and last page are the same."""
    trade = planning.create_department("对外贸易处")
    db.session.commit()
    sessions = [_session(datetime(2024 + n // 2, 3 + n, 10, 1, 30, tzinfo=UTC), [trade])
                for n in range(4)]
    for n, session in enumerate(sessions):
        for k in range(6):
            _publish(_ask(session, f"外贸问题{n}{k}" if k % 2 else f"补贴问题{n}{k}"))
        _publish(_ask(session, "贸问题与外贸"))  # every pair of 外贸问题, not the phrase
        _end(session)
    cases = (("外贸", None), ("外贸", 2024), ("外贸", 2025), ("问题", 2025), ("税", None),
             ("问题", 2030), ("问题", None), ("题", None), ("外贸问题", None),
             ("外贸问题", 2025), ("贸问题", None))
    expected = {case: oracle(*case) for case in cases}
    ways: list[tuple] = [("first pages", None, None)]
    if db.engine.dialect.name == "postgresql":
        search.catch_up()
        db.session.execute(text("ANALYZE search_archive_grams"))
        db.session.commit()
        ways = [("first pages, walking the keys", None, True),
                ("first pages, every hit", None, False)] + [
            (f"{way}, {counting}", margin, option, apart)
            for way, margin, option in (("one range", 1.0, None), ("many ranges", 1e-9, None),
                                        ("one range for want of a histogram", 1e-9,
                                         "no histogram"))
            for counting, apart in (("counted apart", 10 ** 6),
                                    ("counted in the same reads", 0))]
    for way, margin, option, *apart in ways:
        if option in (True, False):
            monkeypatch.setattr(archive_pg, "_walk_keys", lambda wanted, counted, w=option: w)
        if margin is not None:  # every page deep
            monkeypatch.setattr(archive_pg, "SHALLOW", 0)
            monkeypatch.setattr(archive_pg, "COUNT_APART", apart[0])
        if margin is not None and margin < 1:  # the first range tiny, with a huge bound
            monkeypatch.setattr(archive_pg, "_upper_bound", lambda tokens: (10 ** 12, tokens[0]))
            monkeypatch.setattr(archive_pg, "MARGIN", margin)
        if option == "no histogram":
            monkeypatch.setattr(archive_pg, "_key_histogram", lambda: [])
        ends: list[int] = []  # the last key of each range read short of the search's bounds

        def range_end(histogram, start, fraction, high, ends=ends,
                      real=archive_pg._range_end):
            end = real(histogram, start, fraction, high)
            if end < high:
                ends.append(end)
            return end

        monkeypatch.setattr(archive_pg, "_range_end", range_end)
        for case in cases:
            assert listed(*case) == expected[case], (way, case)
        # "问题" in all 28 documents: read a histogram bucket (a document or two) at a time
        assert (len(ends) > 100) == way.startswith("many ranges"), (way, len(ends))
        monkeypatch.setattr(search, "COUNT_CAP", 4)
        for case in cases:
            first = services.search_archive(case[0], case[1], per_page=3)
            assert first.total == min(4, len(expected[case])), (way, case)
            assert first.capped == (len(expected[case]) > 4), (way, case)
            last = services.search_archive(case[0], case[1], page=7, per_page=3)
            assert [h.question.id for h in last.hits] == \
                expected[case][:4][3 * (last.pages - 1):], (way, case)
        monkeypatch.undo()


def test_one_character_is_found_anywhere_and_postgresql_reads_it_as_one_token(any_db_app):
    """A one-character search finds the character at the start, inside and at the very end of a
    question or of an answer (letters in either case), the same on both databases. On
    PostgreSQL each archive document holds its characters as tokens of their own (migration
    0015a), so such a search reads one posting list instead of uniting every pair that starts
    with the character (税 in a million questions: 80-190 ms before)."""
    trade = planning.create_department("对外贸易处")
    db.session.commit()
    office = _office()
    session = _session(datetime(2025, 3, 10, 1, 30, tzinfo=UTC), [trade])
    texts = ["税", "退税", "税费怎么交", "外贸企业？", "ABC", "问一下a", "第1个", "外贸"]
    asked = [_ask(session, value) for value in texts]
    for question in asked:
        _publish(question)
    live_answers.publish_answer(asked[4], office, "请咨询窗口：退税")
    live_answers.publish_answer(asked[7], office, "可以的。")
    db.session.commit()
    _end(session)
    characters = ("税", "退", "费", "？", "a", "A", "b", "c", "1", "外", "。", "窗", "的", "贸")
    for character in characters:
        assert listed(character) == oracle(character), character
    assert listed("税") == [asked[0].id, asked[1].id, asked[2].id, asked[4].id]
    assert listed("c") == [asked[4].id]
    assert listed("的") == [asked[7].id]
    if db.engine.dialect.name == "postgresql":
        for character in characters:
            token = search.tokens(character)[0]
            held = set(db.session.scalars(text(
                "SELECT question_id FROM search_archive_grams "
                "WHERE grams @@ to_tsquery('simple', :t)"), {"t": token}))
            assert held == set(oracle(character)), character
        assert archive_index._archive_query("税", 2025, trade.id, True) == \
            f"{search.tokens('税')[0]} & y2025 & d{trade.id}"


def test_after_a_catch_up_the_pending_list_is_merged(any_db_app):
    """After any catch-up the archive index's pending list on PostgreSQL, which every search
    reads in full, is merged; the archive lists what the rows say."""
    trade = planning.create_department("对外贸易处")
    db.session.commit()
    session = _session(datetime(2025, 3, 10, 1, 30, tzinfo=UTC), [trade])
    ids = [_ask(session, f"外贸问题{n:03d}").id for n in range(40)]
    for qid in ids:
        _publish(db.session.get(Question, qid))
    _end(session)
    assert listed("外贸") == ids == oracle("外贸")
    _publish(_ask(session, "又一个外贸问题"))
    assert listed("外贸") == oracle("外贸") and len(oracle("外贸")) == 41
    assert listed("税") == [] == oracle("税")
    if db.engine.dialect.name == "postgresql":
        indexes = set(db.session.scalars(text(
            "SELECT indexname FROM pg_indexes WHERE indexdef ILIKE '%USING gin%'")))
        assert {"ix_search_question_grams", "ix_search_answer_grams",
                "ix_search_archive_grams"} <= indexes
        pending = db.session.scalar(text(
            "SELECT gin_clean_pending_list('ix_search_archive_grams')"))
        assert pending == 0  # already merged
