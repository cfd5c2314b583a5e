"""Intake: the one operation that takes a citizen's question, whatever brought it.

The /qa socket, the JSON API and the live page's form without the script call ``ask``: the
question is checked and written in a group with the asks that arrive meanwhile
(live/group_commit.py, live/intake_group.py), acknowledged once that group has committed.
Questions in advance (whose page needs the stored question's private link) and the demo loader
call ``submit_question`` and commit themselves. Its rules: a retry with the same client_id
returns the stored question (or is refused when the id belongs to another visitor); a question in
advance needs the collection window open; a live one needs the session live and the visitor
within their pace (QUESTION_MIN_INTERVAL_S, QUESTION_MAX_PER_VISITOR); a session with one
department gives it to the question; in an open session a clean question is published at once,
a flagged one (sensitive words) waits for review. When the bureau requires citizens to sign in
(CITIZEN_SIGN_IN=required), a visitor who has not is refused before anything is read. The
checks are one statement and the insert another, in Core SQL, for one question or a whole
group: this is the hot path of a busy session.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import BindParameter, Select, Table, and_, bindparam, func, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value

from qa_live.auth.citizens import REQUIRED
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import events, group_commit, intake_group, serialize
from qa_live.live.models import Question, QuestionSource, QuestionStatus
from qa_live.live.sensitive import Verdict, screen_question
from qa_live.live.sensitive_models import SensitiveListVersion
from qa_live.live.services import QuestionRefused, status_label
from qa_live.live.summaries import mark_counts
from qa_live.live.validation import QuestionInput
from qa_live.planning.models import (
    Department,
    LiveSession,
    ModerationMode,
    SessionState,
    session_departments,
)

_M = TypeVar("_M", Question, Department)
_questions: Table = Question.__table__  # type: ignore[assignment]
_sessions: Table = LiveSession.__table__  # type: ignore[assignment]
_departments: Table = Department.__table__  # type: ignore[assignment]
_links = session_departments
_words_version: Table = SensitiveListVersion.__table__  # type: ignore[assignment]
_only_department = (select(func.min(_links.c.department_id))
                    .where(_links.c.session_id == _sessions.c.id).scalar_subquery())


def checks_select(suffix: str = "") -> Select[Any]:
    """Everything a question is checked against, in one statement: the session's state and
    moderation, a question already under this client_id, the visitor's live pace, the
    session's department when it has exactly one, and the word list's version (so that
    screening reads no statement of its own). Its parameters are ``session_id``, ``visitor``
    and ``client_id``, each followed by ``suffix`` (a group checks all its asks at once)."""
    session_id: BindParameter[int] = bindparam("session_id" + suffix)
    asked_live = and_(_questions.c.session_id == session_id,
                      _questions.c.visitor_id == bindparam("visitor" + suffix),
                      _questions.c.source == QuestionSource.LIVE)
    return select(
        _sessions.c.state,
        _sessions.c.moderation_mode,
        select(_questions.c.id).where(
            _questions.c.session_id == _sessions.c.id,
            _questions.c.client_id == bindparam("client_id" + suffix)
        ).scalar_subquery().label("existing"),
        select(func.count(_questions.c.id)).where(asked_live).scalar_subquery().label("asked"),
        select(func.max(_questions.c.created_at)).where(asked_live)
        .scalar_subquery().label("last"),
        select(func.count()).select_from(_links).where(
            _links.c.session_id == _sessions.c.id).scalar_subquery().label("departments"),
        _only_department.label("department_id"),
        select(_departments.c.name).where(_departments.c.id == _only_department)
        .scalar_subquery().label("department_name"),
        select(_words_version.c.version).where(_words_version.c.id == 1)
        .scalar_subquery().label("words_version"),
    ).where(_sessions.c.id == session_id)


_CHECKS = checks_select()
# A client_id taken meanwhile (by another worker) inserts nothing: the stored one is returned.
# Given a list of rows (a group), SQLAlchemy writes them as one multi-row INSERT … RETURNING.
INSERT = {
    "sqlite": sqlite_insert(_questions).on_conflict_do_nothing(
        index_elements=["session_id", "client_id"]).returning(
        _questions.c.id, _questions.c.session_id, _questions.c.client_id),
    "postgresql": pg_insert(_questions).on_conflict_do_nothing(
        index_elements=["session_id", "client_id"]).returning(
        _questions.c.id, _questions.c.session_id, _questions.c.client_id),
}


@dataclass(frozen=True)
class Asked:
    """A question taken, as its asker is told once its transaction has committed."""

    question: dict[str, Any]  # serialize.own_question
    created: bool
    id: int


@dataclass(frozen=True)
class GroupAsk:
    """One ask waiting for its group: what is asked, by whom, in which language to answer."""

    session_id: int
    visitor_id: str
    data: QuestionInput
    source: QuestionSource
    signed_in: bool
    locale: str

    def __call__(self) -> Asked:
        """Check and write this ask alone (its group writes it with the others instead)."""
        with speaking(self.locale):
            question, created, told = _submit(self.session_id, self.visitor_id, self.data,
                                              self.source, None, detached=True,
                                              signed_in=self.signed_in)
            return answer(question, created, told)


def answer(question: Question, created: bool, told: dict[str, Any] | None) -> Asked:
    """What its asker is told: a new question's body as its pages were told it; a stored one
    (a duplicate) serialised now, before the commit expires it."""
    own = told or serialize.own_question(question, status_label(question))
    return Asked(own, created, question.id)


def ask(session_id: int, visitor_id: str, data: QuestionInput, source: QuestionSource, *,
        signed_in: bool = False) -> Asked:
    """Take a citizen's question; return what to acknowledge, only once it is committed.

    The one intake operation of the /qa socket and the JSON API. The question is written by
    ``submit_question`` in one transaction with the asks that arrived meanwhile, and its events
    are sent after that commit (on gevent and eventlet, after the group's acknowledgements).
    With INTAKE_QUEUE_MAX asks already waiting it raises group_commit.QueueFull at once (the
    caller answers "try again", as for an outage). A refusal is raised here as
    QuestionRefused (in the asker's language); a failed transaction raises its error (an
    outage: the caller says "try again").
    The caller has nothing of its own waiting to be committed.
    """
    locale = str(get_locale())
    if db.session().in_transaction():
        # What the caller read (the API: the session) is done with: its pooled connection is
        # given back rather than held while the ask waits for its group's writer.
        db.session.rollback()
    work = GroupAsk(session_id, visitor_id, data, source, signed_in, locale)
    config = current_app.config
    asked: Asked = group_commit.of_app().run(work, _write_group, config["INTAKE_GROUP_MAX"],
                                             events.send, config["INTAKE_QUEUE_MAX"])
    return asked


def _write_group(group: list[group_commit.Pending]) -> list[Any]:
    """Write a group of asks in one transaction; return the events it queued (sent once its
    asks are answered). The whole group is checked in one statement and inserted in another
    (intake_group.py); the automaton of the word list's version is built once per process."""
    return group_commit.write_group(group, events.commit_and_take, db.session.rollback,
                                    QuestionRefused, each=intake_group.submit_group)


@contextmanager
def speaking(locale: str) -> Iterator[None]:
    """The asker's language for what their ask's writer says (refusals, status labels)."""
    if locale == str(get_locale()):
        yield
        return
    with force_locale(locale):
        yield


def submit_question(session: LiveSession | int, visitor_id: str, data: QuestionInput,
                    source: QuestionSource, now: datetime | None = None, *,
                    detached: bool = False, signed_in: bool = False) -> tuple[Question, bool]:
    """Store a citizen's question and queue what it means; return it and whether it is new.

    ``session`` is the session or its id. The question returned is loaded in the database
    session, ready for moderation; with ``detached`` (the /qa socket's hot path) a new one is
    instead a detached copy made from the inserted values (with its department, no answers),
    for serialising only, which costs no query. ``signed_in`` says the visitor signed in
    through the identity service (core/visitor.py). The caller commits with
    events.commit_and_send(); the acknowledgement may be written before.
    """
    question, created, _told = _submit(session, visitor_id, data, source, now,
                                       detached=detached, signed_in=signed_in)
    return question, created


def _submit(session: LiveSession | int, visitor_id: str, data: QuestionInput,
            source: QuestionSource, now: datetime | None, *, detached: bool,
            signed_in: bool) -> tuple[Question, bool, dict[str, Any] | None]:
    """``submit_question``, and for a new question the body its asker's pages are sent."""
    refuse_unsigned(signed_in)
    now = now or utcnow()
    session_id = session if isinstance(session, int) else session.id
    db.session.flush()  # the checks read the database: let them see what the caller changed
    connection = db.session.connection()
    checks = connection.execute(_CHECKS, {"session_id": session_id, "visitor": visitor_id,
                                          "client_id": data.client_id}).one_or_none()
    planned = plan(checks, session, visitor_id, data, source, now)
    if isinstance(planned, Question):
        return planned, False, None
    question_id = connection.execute(INSERT[connection.dialect.name], planned.values).scalar()
    if question_id is None:
        return taken_meanwhile(session_id, data.client_id, visitor_id), False, None
    copy, told = made(question_id, planned)
    if detached:
        return copy, True, told
    question = db.session.get(Question, question_id)
    assert question is not None
    return question, True, told


@dataclass
class Planned:
    """A question that passed its checks: the row to insert, and what goes with it."""

    values: dict[str, Any]
    department: Department | None
    now: datetime


def refuse_unsigned(signed_in: bool) -> None:
    """Refuse a visitor who has not signed in when the bureau requires it (before any read)."""
    if not signed_in and current_app.config["CITIZEN_SIGN_IN"] == REQUIRED:
        raise QuestionRefused(_("Please sign in to ask. Watching the session needs no account."),
                              "sign_in_required")


def plan(checks: Any, session: LiveSession | int, visitor_id: str, data: QuestionInput,
         source: QuestionSource, now: datetime, asked_before: int = 0,
         last_before: datetime | None = None) -> Question | Planned:
    """Judge a question by its checks' row: the one already stored under its client_id, or the
    row to insert; a refusal is raised. ``asked_before``/``last_before``: the visitor's live
    questions not yet stored (earlier in the same group), which count towards the pace."""
    if checks is None:
        raise QuestionRefused(_("There is no such session."), "not_found")
    if checks.existing is not None:
        return stored(checks.existing, visitor_id)
    session_id = session if isinstance(session, int) else session.id
    if source == QuestionSource.ADVANCE:
        loaded = session if isinstance(session, LiveSession) else db.session.get(
            LiveSession, session_id)
        if loaded is None or not loaded.precollect_open(now):
            raise QuestionRefused(
                _("Questions in advance are not being collected for this session now."),
                "precollect_closed")
    else:
        if checks.state != SessionState.LIVE:
            raise QuestionRefused(_("This session is not live; questions are closed."),
                                  "not_live")
        pace_verdict(checks.asked + asked_before, last_before or checks.last, now)
    verdict = screen_question(data.text, data.nickname, checks.words_version)
    department = (_detached(Department, {"id": checks.department_id,
                                         "name": checks.department_name})
                  if checks.departments == 1 else None)
    values = _row(session_id, visitor_id, data, source, verdict, department, now,
                  published=(source == QuestionSource.LIVE
                             and checks.moderation_mode == ModerationMode.OPEN
                             and not verdict.flagged))
    return Planned(values, department, now)


def made(question_id: int, planned: Planned) -> tuple[Question, dict[str, Any]]:
    """A new question's detached copy (for serialising, no query) and its events queued;
    returns the copy and the body its asker's pages are sent."""
    copy = _detached(Question, {"id": question_id, **planned.values})
    set_committed_value(copy, "department", planned.department)
    set_committed_value(copy, "answers", [])
    return copy, _tell(copy, planned.now)


def taken_meanwhile(session_id: int, client_id: str, visitor_id: str) -> Question:
    """The question another writer stored under this client_id after the checks read none."""
    existing = db.session.scalar(select(Question.id).where(
        Question.session_id == session_id, Question.client_id == client_id))
    assert existing is not None
    return stored(existing, visitor_id)


def _detached(model: type[_M], values: dict[str, Any]) -> _M:
    """A transient instance holding ``values`` for serialising: made on every ask, so without
    the constructor's attribute events (a third of the copy's cost); reads are the same."""
    made: _M = inspect(model).class_manager.new_instance()
    made.__dict__.update(values)
    return made


def _row(session_id: int, visitor_id: str, data: QuestionInput, source: QuestionSource,
         verdict: Verdict, department: Department | None, now: datetime,
         published: bool) -> dict[str, Any]:
    """The new question's row: pending, or approved when the session publishes it at once.

    Its later moves go through live.services.set_question_status.
    """
    return {
        "session_id": session_id, "client_id": data.client_id, "visitor_id": visitor_id,
        "access_token": secrets.token_urlsafe(24), "nickname": data.nickname,
        "phone": data.phone, "source": source, "original_text": data.text, "text": data.text,
        "status": QuestionStatus.APPROVED if published else QuestionStatus.PENDING,
        "created_at": now, "published_at": now if published else None,
        "department_id": department.id if department else None,
        **verdict.columns, "upvotes": 0, "pinned": False,
        "needs_follow_up": False,
    }


def _tell(question: Question, now: datetime) -> dict[str, Any]:
    """Queue a new question for its session's staff, the public (when published), its asker.

    Returns what its asker's pages are sent (the acknowledgement says the same)."""
    session_id = question.session_id
    events.tell_staff(session_id, "question", serialize.staff_question(question, now),
                      department_id=question.department_id)
    if question.status == QuestionStatus.APPROVED:
        events.publish_to(session_id, "question", serialize.public_question(question))
    own = serialize.own_question(question, status_label(question))
    events.tell_visitor(question.visitor_id, "mine", own)
    events.after_commit(lambda: mark_counts(session_id))
    return own


def stored(question_id: int, visitor_id: str) -> Question:
    """The question already stored under the page's client_id, if it is this visitor's."""
    question = db.session.get(Question, question_id)
    assert question is not None
    if question.visitor_id != visitor_id:
        raise QuestionRefused(_("This question id belongs to someone else."), "forbidden")
    return question


def pace_verdict(count: int, last: datetime | None, now: datetime) -> None:
    """Refuse a live question past the visitor's pace: an interval between them, and a total."""
    cap = current_app.config["QUESTION_MAX_PER_VISITOR"]
    if count >= cap:
        raise QuestionRefused(
            _("You have asked %(n)d questions in this session, the most one visitor may.", n=cap),
            "too_many_questions",
        )
    interval = current_app.config["QUESTION_MIN_INTERVAL_S"]
    if last is not None:
        last = last if last.tzinfo else last.replace(tzinfo=now.tzinfo)
        wait = interval - (now - last).total_seconds()
        if wait > 0:
            raise QuestionRefused(
                _("Please wait %(s)d seconds before asking again.", s=max(1, round(wait))),
                "too_fast",
            )
