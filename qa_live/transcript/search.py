"""Indexed search of questions and answers, the same on SQLite and PostgreSQL (docs/transcript.md).

Chinese has no spaces, and most words have two characters (外贸), so neither a word tokenizer
nor a trigram index (three characters at least) finds them. Here every text is indexed as its
overlapping **character pairs**, in order, plus its last character alone; each character is
written as four ASCII letters, so both databases' own full-text engines see plain words:
SQLite's FTS5 (contentless tables, ``ascii`` tokenizer) and PostgreSQL's ``tsvector`` with a GIN
index. A search for ``外贸企业`` is the phrase of its pairs 外贸 贸企 企业 at consecutive positions,
which matches exactly the texts containing it; a one-character search is a prefix query on the
pairs that start with it. The pairs are made by this module in Python, so the two databases
index the very same tokens and give the very same results.

Database triggers (migration 0008) queue every change to a question's text or an answer's body
in ``search_queue`` (also bulk SQL and other processes); ``catch_up()`` applies the queue, in
order, before each search. ``matching_question_ids(text)`` is the one lookup the archive and the
console's "similar questions" hint share.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    String,
    Text,
    bindparam,
    delete,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler

from qa_live.extensions import Model, db
from qa_live.live.models import Answer, Question, QuestionStatus
from qa_live.planning.models import LiveSession, SessionState, session_departments

log = logging.getLogger(__name__)

#: Letters per character: 26**4 covers every code point of the Basic Multilingual Plane.
WIDTH = 4
_TOP = 26 ** WIDTH - 1
#: PostgreSQL keeps positions up to 16,383; longer texts are indexed up to that many characters.
MAX_INDEXED = 16_000
#: Sessions whose page is the transcript, and the only ones in the archive.
HELD_STATES = (SessionState.ENDED, SessionState.ARCHIVED)
#: Questions citizens may read: published, with or without an answer.
PUBLISHED = (QuestionStatus.APPROVED, QuestionStatus.ANSWERED)
#: Queue entries applied per transaction.
BATCH = 5_000
#: The index tables (SQLite virtual tables, PostgreSQL tables), kept out of the model metadata.
INDEX_TABLES = ("search_question_grams", "search_answer_grams")
#: The archive's index (migration 0014a): one document per published question of a held
#: session, its key ordering the archive, and the side table SQLite needs to delete documents.
ARCHIVE_TABLES = ("search_archive_grams", "search_archive_entries")
#: An archive key: the session's start minute (reversed) above, the question id below.
ID_BITS = 31
ID_MASK = (1 << ID_BITS) - 1
#: Start minutes count down from here (minutes since 1970: the year 10,000 and more).
LAST_MINUTE = (1 << 32) - 1
#: Exact counts stop here: "10,000+ questions" (counting further costs a row per hit).
COUNT_CAP = 10_000
#: Separates the texts of one archive document: never a token of a text (those have 4 or 8
#: letters), so no phrase runs from a question into its answer.
SEPARATOR = "x"


class SearchQueue(Model):
    """A change to a searchable text, queued by a trigger, applied by catch_up()."""

    __tablename__ = "search_queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(1))  # "q" question text, "a" answer body
    item_id: Mapped[int]
    old_text: Mapped[str | None] = mapped_column(Text)
    new_text: Mapped[str | None] = mapped_column(Text)


def is_index_table(name: str | None) -> bool:
    """Whether a table belongs to the search index (FTS5's shadow tables included)."""
    return bool(name) and any(str(name).startswith(t) for t in INDEX_TABLES + ARCHIVE_TABLES)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """For Alembic's comparisons: leave the index tables (and their indexes) out."""
    if type_ == "table":
        return not is_index_table(name)
    table = getattr(obj, "table", None)
    return not is_index_table(getattr(table, "name", None))


@functools.lru_cache(maxsize=65536)
def _letters(char: str) -> str:
    code = min(ord(char), _TOP)
    out = []
    for _ in range(WIDTH):
        code, digit = divmod(code, 26)
        out.append(chr(97 + digit))
    return "".join(reversed(out))


def tokens(value: str) -> list[str]:
    """The index tokens of a text: its lower-cased character pairs in order, then its last one."""
    letters = [_letters(c) for c in value.lower()[:MAX_INDEXED]]
    pairs = [letters[i] + letters[i + 1] for i in range(len(letters) - 1)]
    return pairs + letters[-1:]


def grams(value: str) -> str:
    """The text as the index stores it: its tokens separated by spaces."""
    return " ".join(tokens(value))


def fts_query(query: str) -> str:
    """The query for SQLite's FTS5 MATCH (a phrase of pairs, or a prefix for one character)."""
    letters = [_letters(c) for c in query.lower()]
    if len(letters) == 1:
        return letters[0] + "*"
    return '"' + " ".join(letters[i] + letters[i + 1] for i in range(len(letters) - 1)) + '"'


def ts_query(query: str) -> str:
    """The query for PostgreSQL's to_tsquery('simple', …): pairs joined by <->, or a prefix."""
    letters = [_letters(c) for c in query.lower()]
    if len(letters) == 1:
        return letters[0] + ":*"
    return " <-> ".join(letters[i] + letters[i + 1] for i in range(len(letters) - 1))


# The lookup ---------------------------------------------------------------------------------


def matching_question_ids(query: str) -> CompoundSelect[Any]:
    """The ids of the questions whose text, or an answer of which, contains ``query``.

    Case-insensitive (Unicode lower case) and exact otherwise; a selectable to use in an IN
    clause with further filters. Call catch_up() first for what changed since the last search.
    """
    in_questions: Select[Any]
    in_answers: Select[Any]
    if db.engine.dialect.name == "postgresql":
        # unique: several lookups may share one statement (similar.py ORs a few pairs)
        tsq = func.to_tsquery(literal_column("'simple'"),
                              bindparam("search_q", ts_query(query), unique=True))
        in_questions = select(literal_column("question_id")).select_from(
            text("search_question_grams")).where(literal_column("grams").op("@@")(tsq))
        in_answers = select(literal_column("question_id")).select_from(
            text("search_answer_grams")).where(literal_column("grams").op("@@")(tsq))
    else:
        match: Any = bindparam("search_q", fts_query(query), unique=True)
        in_questions = select(literal_column("rowid")).select_from(
            text("search_question_grams")).where(
            literal_column("search_question_grams").op("MATCH")(match))
        in_answers = select(Answer.question_id).where(Answer.id.in_(
            select(literal_column("rowid")).select_from(text("search_answer_grams")).where(
                literal_column("search_answer_grams").op("MATCH")(match))))
    return in_questions.union(in_answers)


class array_of(ColumnElement[Any]):
    """PostgreSQL's ARRAY(subquery): the ids as one array value."""

    inherit_cache = True

    def __init__(self, subquery: CompoundSelect[Any]) -> None:
        self.subquery = subquery


@compiles(array_of)
def _array_of(element: array_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"ARRAY({compiler.process(element.subquery, **kw)})"


def question_condition(query: str) -> ColumnElement[bool]:
    """A WHERE condition on Question: its text or an answer contains ``query``.

    On PostgreSQL as ``id = ANY(ARRAY(…))``: the hits become one array probed through the
    primary key, where ``IN (subquery)`` lets the planner, expecting many, join the whole table.
    """
    if db.engine.dialect.name == "postgresql":
        return Question.id == func.any(array_of(matching_question_ids(query)))
    return Question.id.in_(matching_question_ids(query))


# Keeping the index ----------------------------------------------------------------------------


def catch_up(limit: int | None = None) -> int:
    """Apply the queued changes to the index, oldest first; return how many were applied.

    In its own transaction (never the request's), claimed with DELETE … RETURNING so two
    workers never apply the same change; on PostgreSQL an advisory lock keeps them in turn.
    """
    applied = 0
    while limit is None or applied < limit:
        with Session(db.engine) as session, session.begin():
            postgres = session.get_bind().dialect.name == "postgresql"
            if postgres:
                session.execute(text("SELECT pg_advisory_xact_lock(140914)"))
            first = session.scalars(select(SearchQueue.id).order_by(SearchQueue.id)
                                    .limit(BATCH)).all()
            if not first:
                return applied
            claimed = list(session.execute(
                delete(SearchQueue).where(SearchQueue.id <= first[-1])
                .returning(SearchQueue.id, SearchQueue.kind, SearchQueue.item_id,
                           SearchQueue.old_text, SearchQueue.new_text)).all())
            claimed.sort(key=lambda row: row[0])
            texts = [row for row in claimed if row[1] in ("q", "a")]
            if postgres:
                _apply_postgresql(session, texts)
            else:
                _apply_sqlite(session, texts)
            _apply_archive(session, claimed, postgres)
            applied += len(claimed)
    return applied


def _apply_sqlite(session: Session, rows: list[Any]) -> None:
    """Replay the changes on the contentless FTS5 tables, in order: old tokens out, new in.

    Consecutive inserts (the common case: questions and answers being added) go in one
    executemany per table.
    """
    pending: list[tuple[str, dict[str, Any]]] = []

    def flush() -> None:
        for table in INDEX_TABLES:
            batch = [params for name, params in pending if name == table]
            if batch:
                session.execute(text(f"INSERT INTO {table}(rowid, grams) "  # noqa: S608
                                     "VALUES (:id, :grams)"), batch)
        pending.clear()

    for _id, kind, item_id, old, new in rows:
        table = INDEX_TABLES[0] if kind == "q" else INDEX_TABLES[1]
        if old is not None:
            flush()
            session.execute(text(f"INSERT INTO {table}({table}, rowid, grams) "  # noqa: S608
                                 "VALUES ('delete', :id, :grams)"),
                            {"id": item_id, "grams": grams(old)})
        if new is not None:
            pending.append((table, {"id": item_id, "grams": grams(new)}))
    flush()


def _apply_postgresql(session: Session, rows: list[Any]) -> None:
    """Make each changed item's row say what the item says now (or drop it when gone)."""
    questions = sorted({item for _i, kind, item, _o, _n in rows if kind == "q"})
    answers = sorted({item for _i, kind, item, _o, _n in rows if kind == "a"})
    if questions:
        current = session.execute(select(Question.id, Question.text)
                                  .where(Question.id.in_(questions))).all()
        session.execute(text("DELETE FROM search_question_grams WHERE question_id = ANY(:ids)"),
                        {"ids": questions})
        if current:
            session.execute(text(
                "INSERT INTO search_question_grams (question_id, grams) "
                "VALUES (:id, to_tsvector('simple', :grams))"),
                [{"id": qid, "grams": grams(value)} for qid, value in current])
    if answers:
        replies = session.execute(select(Answer.id, Answer.question_id, Answer.body)
                                  .where(Answer.id.in_(answers))).all()
        session.execute(text("DELETE FROM search_answer_grams WHERE answer_id = ANY(:ids)"),
                        {"ids": answers})
        if replies:
            session.execute(text(
                "INSERT INTO search_answer_grams (answer_id, question_id, grams) "
                "VALUES (:id, :qid, to_tsvector('simple', :grams))"),
                [{"id": aid, "qid": qid, "grams": grams(value)} for aid, qid, value in replies])


def rebuild() -> int:
    """Index every question and answer afresh (flask search reindex); return how many texts.

    The archive's index is rebuilt too: each question's text change rebuilds its document.
    """
    with Session(db.engine) as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("DELETE FROM search_question_grams"))
            session.execute(text("DELETE FROM search_answer_grams"))
            session.execute(text("DELETE FROM search_archive_grams"))
        else:
            for table in (*INDEX_TABLES, ARCHIVE_TABLES[0]):
                session.execute(text(f"INSERT INTO {table}({table}) VALUES ('delete-all')"))  # noqa: S608
            session.execute(text("DELETE FROM search_archive_entries"))
        session.execute(delete(SearchQueue))
        session.execute(text("INSERT INTO search_queue (kind, item_id, new_text) "
                             "SELECT 'q', id, text FROM questions"))
        session.execute(text("INSERT INTO search_queue (kind, item_id, new_text) "
                             "SELECT 'a', id, body FROM answers"))
    return catch_up()


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
# it counts up to COUNT_CAP. No question row is read for either. Migration 0014a's triggers
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


def archive_grams(tags: Sequence[str], texts: Sequence[str]) -> str:
    """An archive document as the index stores it: its tags, then each text's tokens after a
    separator, MAX_INDEXED characters of text at most (PostgreSQL's positions end at 16,383)."""
    parts = list(tags)
    room = MAX_INDEXED
    for value in texts:
        if room <= 0:
            break
        parts += [SEPARATOR, grams(value[:room])]
        room -= len(value)
    return " ".join(part for part in parts if part)


def _chunks(ids: Sequence[int], size: int = BATCH) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start:start + size])


def _apply_archive(session: Session, rows: list[Any], postgres: bool) -> None:
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
                "VALUES (:qid, :key, :sid, to_tsvector('simple', :grams))"),
                [{"qid": qid, "key": key, "sid": sid, "grams": archive_grams(*json.loads(src))}
                 for qid, (key, sid, src) in sorted(documents.items(),
                                                    key=lambda item: item[1][0])])
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
        return " & ".join([ts_query(query), *tags])
    return " AND ".join([fts_query(query), *tags])


def archive_count(query: str, year: int | None = None, department_id: int | None = None) -> int:
    """How many archive questions contain ``query`` (in their text or an answer), of one plan
    year and/or one department: exact up to COUNT_CAP, COUNT_CAP + 1 meaning more."""
    postgres = db.engine.dialect.name == "postgresql"
    match = _archive_query(query, year, department_id, postgres)
    if postgres:
        sql = ("SELECT count(*) FROM (SELECT 1 FROM search_archive_grams "
               "WHERE grams @@ to_tsquery('simple', :m) LIMIT :cap) AS hits")
    else:
        sql = ("SELECT count(*) FROM (SELECT 1 FROM search_archive_grams "
               "WHERE search_archive_grams MATCH :m LIMIT :cap)")
    return db.session.scalar(text(sql), {"m": match, "cap": COUNT_CAP + 1}) or 0


def archive_page(query: str, year: int | None = None, department_id: int | None = None,
                 offset: int = 0, limit: int = 20, counted: int | None = None) -> list[int]:
    """The ids of archive questions containing ``query``, in the archive's order (newest
    session first, each in the order asked), ``limit`` of them after the first ``offset``.

    ``counted``: what archive_count() said, which PostgreSQL needs to choose how to read them.
    """
    postgres = db.engine.dialect.name == "postgresql"
    match = _archive_query(query, year, department_id, postgres)
    params: dict[str, Any] = {"m": match, "limit": limit, "offset": offset}
    if not postgres:  # FTS5 walks the matching rowids in order and stops
        sql = ("SELECT rowid FROM search_archive_grams WHERE search_archive_grams MATCH :m "
               "ORDER BY rowid LIMIT :limit OFFSET :offset")
    elif _walk_keys(offset + limit, counted) and (bounds := _key_bounds(year)) is not None:
        # The key index in order, each row tested (ts_match_vq is the @@ operator's function,
        # which the GIN index cannot serve): about (offset + limit) / share-of-hits rows read.
        params["low"], params["high"] = bounds
        sql = ("SELECT doc_key FROM search_archive_grams "
               "WHERE ts_match_vq(grams, to_tsquery('simple', :m)) "
               "AND doc_key BETWEEN :low AND :high ORDER BY doc_key LIMIT :limit OFFSET :offset")
    else:
        # Every hit from the GIN index, then the first ones: about as many rows as hits.
        sql = ("WITH hits AS MATERIALIZED (SELECT doc_key FROM search_archive_grams "
               "WHERE grams @@ to_tsquery('simple', :m)) "
               "SELECT doc_key FROM hits ORDER BY doc_key LIMIT :limit OFFSET :offset")
    keys = db.session.scalars(text(sql), params)
    return [question_of(key) for key in keys]


def _walk_keys(wanted: int, counted: int | None) -> bool:
    """On PostgreSQL: whether walking the key index in order reads fewer rows than taking
    every hit from the GIN index. It does for words in a good share of the archive, the slow
    case: the first 20 of 10,000+ hits in a million documents are a walk of about 2,000 rows."""
    if not counted:
        return False
    documents = db.session.scalar(text(
        "SELECT reltuples FROM pg_class WHERE relname = 'search_archive_grams'")) or 0
    return 0 < wanted * documents / counted < counted


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
