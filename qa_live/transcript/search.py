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
import logging
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
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler

from qa_live.extensions import Model, db
from qa_live.live.models import Answer, Question, QuestionStatus
from qa_live.planning.models import SessionState

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
    On PostgreSQL, after any catch-up the archive index's pending list is merged (every search
    reads all of it). Each batch is its own short transaction, so that searches and the
    console's "similar" lookup never wait long behind it (a bulk path that dropped and rebuilt
    the GIN indexes in one transaction was tried: faster to fill, but it locked the index
    tables for the whole catch-up).
    """
    applied = 0
    while limit is None or applied < limit:
        with Session(db.engine) as session, session.begin():
            postgres = session.get_bind().dialect.name == "postgresql"
            if postgres:
                session.execute(text("SELECT pg_advisory_xact_lock(140914)"))
            done = _apply_batch(session, postgres)
            if not done:
                break
            applied += done
    if applied and db.engine.dialect.name == "postgresql":
        _merge_pending_list()
    return applied


def _apply_batch(session: Session, postgres: bool) -> int:
    """Claim and apply the oldest BATCH queued changes; return how many."""
    first = session.scalars(select(SearchQueue.id).order_by(SearchQueue.id)
                            .limit(BATCH)).all()
    if not first:
        return 0
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
    from qa_live.transcript.archive_index import apply_archive

    apply_archive(session, claimed, postgres)
    return len(claimed)


def _merge_pending_list() -> None:
    """Move the archive GIN index's pending list into the index proper, so that searches do
    not read it (PostgreSQL reads the whole list for every search). Needs the index's owner,
    as VACUUM does: otherwise autovacuum merges it later."""
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT gin_clean_pending_list('ix_search_archive_grams')"))
            conn.commit()
    except SQLAlchemyError:
        log.warning("search: could not merge the archive index's pending list", exc_info=True)


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
