"""The archive's own index (migration 0014a): what the public archive's search reads.

Kept beside qa_live/transcript/search.py, whose character-pair tokens and queue it shares:
search.catch_up() applies the queued changes here too (apply_archive), and
transcript.services.search_archive() counts and pages with archive_hits() (on PostgreSQL
through archive_pg.first_hits()).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from qa_live.extensions import db
from qa_live.live.models import Answer, Question
from qa_live.planning.models import LiveSession, session_departments
from qa_live.transcript import archive_pg, search
from qa_live.transcript.search import (
    BATCH,
    HELD_STATES,
    ID_BITS,
    ID_MASK,
    LAST_MINUTE,
    MAX_INDEXED,
    PUBLISHED,
    SEPARATOR,
    WIDTH,
    fts_query,
    grams,
    tokens,
    ts_query,
)

log = logging.getLogger(__name__)

# The archive's index -------------------------------------------------------------------------
#
# One document per question citizens may read (published, of a held session): its text and its
# answers' bodies (each tokenized as above, a separator between them), plus tags for the
# archive's filters (``y2025`` the plan year, ``d7`` each department of the session). Its key
# (the FTS5 rowid, a bigint column on PostgreSQL) is the archive's order: the session's start
# minute counted down in the high bits, the question id in the low 31, so that walking the keys
# upwards lists the newest session first and its questions in the order they were asked (and a
# session's questions, indexed in id order, are appended in key order, which FTS5 needs to
# write fast). A search reads the first page by walking the matching keys and stops after 20;
# it counts up to search.COUNT_CAP. No question row is read for either. Migration 0014a's triggers
# queue what moves a question in or out of the archive or changes its document: "p" (a
# question's status or session, an answer added, changed or deleted) and "s" (a session's
# state, start, year or departments); catch_up() rebuilds the documents of what they name
# from the rows as they are.


def archive_key(scheduled_start: datetime, question_id: int) -> int:
    """The archive key of a question of the session starting at ``scheduled_start``."""
    minute = min(max(0, int(scheduled_start.timestamp()) // 60), LAST_MINUTE)
    return ((LAST_MINUTE - minute) << ID_BITS) | question_id


def question_of(key: int) -> int:
    """The question id inside an archive key."""
    return key & ID_MASK


def filter_tags(year: int | None, department_ids: Iterable[int]) -> list[str]:
    """The tokens a document carries (or a search requires) for a plan year and departments."""
    return ([f"y{year}"] if year is not None else []) + [f"d{d}" for d in sorted(department_ids)]


def _indexed(texts: Sequence[str]) -> list[str]:
    """The texts of a document as far as they are indexed: MAX_INDEXED characters in all
    (PostgreSQL's positions end at 16,383)."""
    out = []
    room = MAX_INDEXED
    for value in texts:
        if room <= 0:
            break
        out.append(value[:room])
        room -= len(value)
    return out


def archive_grams(tags: Sequence[str], texts: Sequence[str]) -> str:
    """An archive document as the index stores it: its tags, then each text's tokens after a
    separator."""
    parts = list(tags)
    for value in _indexed(texts):
        parts += [SEPARATOR, grams(value)]
    return " ".join(part for part in parts if part)


def archive_singles(texts: Sequence[str]) -> str:
    """PostgreSQL's archive documents also hold each character of their texts once, as its own
    token without a position (migration 0015a): the first half of every pair and the lone last
    character, which are exactly the tokens SQLite's prefix query ``abcd*`` matches. So a
    one-character search there is one posting list, not the union of the thousands of pairs
    starting with the character (税: 126,370 documents in the benchmark's million, whose
    prefix query cost PostgreSQL 80-190 ms)."""
    return " ".join(sorted({token[:WIDTH] for value in _indexed(texts)
                            for token in tokens(value)}))


def _chunks(ids: Sequence[int], size: int = BATCH) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start:start + size])


def apply_archive(session: Session, rows: list[Any], postgres: bool) -> None:
    """Rebuild the archive documents of the questions and sessions the queued changes name."""
    questions = {item for _i, kind, item, _o, _n in rows if kind in ("q", "p")}
    sessions = sorted({item for _i, kind, item, _o, _n in rows if kind == "s"})
    table = "search_archive_grams" if postgres else "search_archive_entries"
    for chunk in _chunks(sessions):
        questions.update(session.scalars(select(Question.id)
                                         .where(Question.session_id.in_(chunk))))
        questions.update(session.scalars(
            text(f"SELECT question_id FROM {table} WHERE session_id IN :ids")  # noqa: S608
            .bindparams(bindparam("ids", expanding=True)), {"ids": chunk}))
    for chunk in _chunks(sorted(questions)):
        _refresh_archive(session, chunk, postgres)


def _archive_documents(session: Session, ids: list[int]) -> dict[int, tuple[int, int, str]]:
    """{question id: (key, session id, source)} for those of ``ids`` citizens may read now;
    the source is the JSON of [tags, texts] the document is made of."""
    rows = session.execute(
        select(Question.id, Question.text, LiveSession.id, LiveSession.scheduled_start,
               LiveSession.plan_year)
        .join(LiveSession, LiveSession.id == Question.session_id)
        .where(Question.id.in_(ids), Question.status.in_(PUBLISHED),
               LiveSession.state.in_(HELD_STATES))).all()
    if not rows:
        return {}
    held = sorted({row[2] for row in rows})
    departments: dict[int, list[int]] = {}
    for sid, did in session.execute(
            select(session_departments.c.session_id, session_departments.c.department_id)
            .where(session_departments.c.session_id.in_(held))):
        departments.setdefault(sid, []).append(did)
    answers: dict[int, list[str]] = {}
    for qid, body in session.execute(select(Answer.question_id, Answer.body)
                                     .where(Answer.question_id.in_([r[0] for r in rows]))
                                     .order_by(Answer.id)):
        answers.setdefault(qid, []).append(body)
    return {
        qid: (archive_key(start, qid), sid, json.dumps(
            [filter_tags(year, departments.get(sid, ())), [value, *answers.get(qid, [])]],
            ensure_ascii=False))
        for qid, value, sid, start, year in rows
    }


def _refresh_archive(session: Session, ids: list[int], postgres: bool) -> None:
    """Make the archive hold exactly the current documents of the questions ``ids``."""
    documents = _archive_documents(session, ids)
    if postgres:
        session.execute(text("DELETE FROM search_archive_grams WHERE question_id = ANY(:ids)"),
                        {"ids": ids})
        if documents:
            session.execute(text(
                "INSERT INTO search_archive_grams (question_id, doc_key, session_id, grams) "
                "VALUES (:qid, :key, :sid, "
                "to_tsvector('simple', :grams) || strip(to_tsvector('simple', :singles)))"),
                [{"qid": qid, "key": key, "sid": sid, "grams": archive_grams(tags, texts),
                  "singles": archive_singles(texts)}
                 for qid, (key, sid, src) in sorted(documents.items(),
                                                    key=lambda item: item[1][0])
                 for tags, texts in [json.loads(src)]])
        return
    # SQLite's contentless FTS5 deletes a document given the very tokens it was made of: the
    # side table keeps each document's source for that.
    indexed = {qid: (key, sid, src) for qid, key, sid, src in session.execute(
        text("SELECT question_id, doc_key, session_id, source FROM search_archive_entries "
             "WHERE question_id IN :ids").bindparams(bindparam("ids", expanding=True)),
        {"ids": ids})}
    # In key order: FTS5 writes a transaction's changes in one go only while rowids ascend.
    gone = sorted(((qid, old) for qid, old in indexed.items() if documents.get(qid) != old),
                  key=lambda item: item[1][0])
    new = sorted(((qid, doc) for qid, doc in documents.items() if indexed.get(qid) != doc),
                 key=lambda item: item[1][0])
    if gone:
        session.execute(text("INSERT INTO search_archive_grams(search_archive_grams, rowid, grams) "
                             "VALUES ('delete', :key, :grams)"),
                        [{"key": key, "grams": archive_grams(*json.loads(src))}
                         for _qid, (key, _sid, src) in gone])
        session.execute(text("DELETE FROM search_archive_entries WHERE question_id IN :ids")
                        .bindparams(bindparam("ids", expanding=True)),
                        {"ids": [qid for qid, _old in gone]})
    if new:
        session.execute(text("INSERT INTO search_archive_grams(rowid, grams) "
                             "VALUES (:key, :grams)"),
                        [{"key": key, "grams": archive_grams(*json.loads(src))}
                         for _qid, (key, _sid, src) in new])
        session.execute(text("INSERT INTO search_archive_entries "
                             "(question_id, doc_key, session_id, source) "
                             "VALUES (:qid, :key, :sid, :src)"),
                        [{"qid": qid, "key": key, "sid": sid, "src": src}
                         for qid, (key, sid, src) in new])


def _archive_query(query: str, year: int | None, department_id: int | None,
                   postgres: bool) -> str:
    tags = filter_tags(year, [department_id] if department_id is not None else [])
    if postgres:
        # One character: its own token (archive_singles), the same documents as the prefix.
        single = [tokens(c)[0] for c in query.lower()]
        return " & ".join([single[0] if len(single) == 1 else ts_query(query), *tags])
    return " AND ".join([fts_query(query), *tags])


def archive_hits(query: str, year: int | None = None, department_id: int | None = None,
                 page: int = 1, per_page: int = 20) -> tuple[int, int, list[int]]:
    """The archive's search: how many questions contain ``query`` (in their text or an
    answer), of one plan year and/or one department (exact up to search.COUNT_CAP,
    COUNT_CAP + 1 meaning more), the page shown (``page`` within the pages there are: only the
    first COUNT_CAP hits are paged) and the ids of its questions, in the archive's order
    (newest session first, each in the order asked). No question row is read."""
    postgres = db.engine.dialect.name == "postgresql"
    match = _archive_query(query, year, department_id, postgres)
    cap = search.COUNT_CAP
    page = min(max(1, page), max(1, -(-cap // per_page)))

    def window(page: int) -> tuple[int, int]:
        return (page - 1) * per_page, max(0, min(per_page, cap - (page - 1) * per_page))

    if postgres:
        bounds = _key_bounds(year)
        if bounds is None:
            return 0, 1, []
        offset, limit = window(page)
        if offset + limit <= archive_pg.COUNT_APART:  # counted apart from the page's reads
            counted = archive_pg.count(match)
            shown = _last_page(page, counted, per_page)
            offset, limit = window(shown)
            if offset + limit <= archive_pg.SHALLOW:
                keys = archive_pg.page(match, bounds, offset, limit, counted)
            else:
                keys = archive_pg.first_hits(match, _query_tokens(query), bounds, offset,
                                             limit, need=offset + limit)[1] if limit > 0 else []
        else:
            counted, keys = archive_pg.first_hits(match, _query_tokens(query), bounds, offset,
                                                  limit)
            shown = _last_page(page, counted, per_page)
            if shown != page:  # asked past the last page: read that page
                return archive_hits(query, year, department_id, shown, per_page)
    else:
        counted = _sqlite_count(match)
        shown = _last_page(page, counted, per_page)
        offset, limit = window(shown)
        keys = _sqlite_page(match, offset, min(limit, counted - offset))
    return counted, shown, [question_of(key) for key in keys]


def _last_page(page: int, counted: int, per_page: int) -> int:
    """``page``, or the last page there is if it is past it."""
    return min(page, max(1, -(-min(counted, search.COUNT_CAP) // per_page)))


def _query_tokens(query: str) -> list[str]:
    """The tokens a PostgreSQL archive document holds for ``query``: its one character's own
    token, or its pairs."""
    letters = tokens(query)
    return letters if len(query) == 1 else letters[:-1]


def _sqlite_count(match: str) -> int:
    """FTS5 counts the matching rowids, up to search.COUNT_CAP + 1."""
    sql = ("SELECT count(*) FROM (SELECT 1 FROM search_archive_grams "
           "WHERE search_archive_grams MATCH :m LIMIT :cap)")
    return db.session.scalar(text(sql), {"m": match, "cap": search.COUNT_CAP + 1}) or 0


def _sqlite_page(match: str, offset: int, limit: int) -> list[int]:
    """FTS5 walks the matching rowids in order and stops."""
    if limit <= 0:
        return []
    sql = ("SELECT rowid FROM search_archive_grams WHERE search_archive_grams MATCH :m "
           "ORDER BY rowid LIMIT :limit OFFSET :offset")
    return list(db.session.scalars(text(sql), {"m": match, "limit": limit, "offset": offset}))


def _key_bounds(year: int | None) -> tuple[int, int] | None:
    """The archive keys of one plan year's held sessions (all keys without a year; None when
    the year has none), which bound a walk."""
    if year is None:
        return 0, (1 << 63) - 1
    first, last = db.session.execute(
        select(func.min(LiveSession.scheduled_start), func.max(LiveSession.scheduled_start))
        .where(LiveSession.plan_year == year, LiveSession.state.in_(HELD_STATES))).one()
    if first is None:
        return None
    return archive_key(last, 0), archive_key(first, ID_MASK)
