"""Storing an import file: every row of it in the caller's one transaction, or nothing.

``import_sessions`` reads and checks the file (qa_live.imports.reader); with any refusal, or in a
dry run, it stores nothing and says what it would have done. Otherwise it records the sessions
as held on their past dates, with their departments, questions, answers, second replies,
follow-ups and participants, flushes, and the caller commits once (the CLI and the API alike).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from qa_live.audit import services as audit
from qa_live.auth.models import User
from qa_live.core.timeutil import local_year
from qa_live.extensions import db
from qa_live.followup.models import FollowUp, FollowUpChange, FollowUpStatus
from qa_live.imports.models import ImportedSession, SessionImport
from qa_live.imports.reader import already_imported, read_document, rows_totals
from qa_live.imports.rows import ImportFile, Refusal, SessionRow, decode
from qa_live.live.models import Answer, AnswerKind, Question, QuestionStatus, Visit
from qa_live.planning.models import Department, LiveSession, ModerationMode, SessionState
from qa_live.planning.services import ensure_plan, new_slug
from qa_live.stats import refresh as stats_refresh

#: visitor_id of imported questions: the asker of an earlier system is not known here.
IMPORTED_ASKER = "imported"
STATUS = {"pending": QuestionStatus.PENDING, "published": QuestionStatus.APPROVED,
          "answered": QuestionStatus.ANSWERED, "rejected": QuestionStatus.REJECTED}


@dataclass
class ImportReport:
    """What an import did (or, in a dry run or refused, would do) and every refused row."""

    filename: str
    dry_run: bool
    refusals: list[Refusal] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    given: list[str] = field(default_factory=list)
    stored: bool = False
    import_id: int | None = None

    @property
    def ok(self) -> bool:
        """Nothing refused."""
        return not self.refusals

    def as_json(self) -> dict[str, Any]:
        """The report as the API returns it."""
        return {"file": self.filename, "dry_run": self.dry_run, "stored": self.stored,
                "import_id": self.import_id, "ok": self.ok,
                "refused": [{"row": r.row, "reason": r.reason} for r in self.refusals],
                "sessions": self.sessions, "totals": self.totals,
                "participants_given_for": self.given}


def import_sessions(raw: bytes, filename: str, actor: User | None, *, dry_run: bool = False,
                    encoding: str | None = None) -> ImportReport:
    """Read, check and (unless a dry run or anything is refused) store one file."""
    report = ImportReport(filename=filename[:255], dry_run=dry_run)
    try:
        text = decode(raw, encoding)
    except ValueError as exc:
        report.refusals.append(Refusal("file", str(exc)))
        return report
    result = read_document(text)
    sha256 = hashlib.sha256(raw).hexdigest()
    if result.sessions:
        already_imported(result, sha256)
    report.refusals = result.refusals
    report.sessions = [_summary(s) for s in result.sessions]
    report.totals = rows_totals(result.sessions)
    report.given = [s.id for s in result.sessions if s.given_visits is not None]
    if dry_run or not report.ok:
        return report
    report.import_id = _store(result, filename, sha256, actor)
    report.stored = True
    return report


def _summary(session: SessionRow) -> dict[str, Any]:
    answers = [a for q in session.questions for a in q.answers]
    return {
        "id": session.id, "title": session.title, "start": session.start.isoformat(),
        "state": "cancelled" if session.cancelled else "ended",
        "departments": len(session.department_ids), "questions": len(session.questions),
        "answers": sum(1 for a in answers if a.kind == "live"),
        "second_replies": sum(1 for a in answers if a.kind == "follow_up"),
        "follow_ups": sum(1 for q in session.questions if q.follow_up is not None),
        "participant_visits": (len(session.visits) if session.given_visits is None
                               else session.given_visits),
        "participants": "given" if session.given_visits is not None else "visit rows",
    }


def _store(result: ImportFile, filename: str, sha256: str, actor: User | None) -> int:
    record = SessionImport(filename=filename[:255], sha256=sha256,
                           user_id=actor.id if actor else None,
                           sessions=len(result.sessions),
                           questions=sum(len(s.questions) for s in result.sessions),
                           note=result.note)
    db.session.add(record)
    db.session.flush()
    departments = {d.id: d for d in db.session.query(Department)}
    imported: list[int] = []
    for row in result.sessions:
        session = _session(row, departments)
        imported.append(session.id)
        db.session.add(ImportedSession(session_id=session.id, import_id=record.id,
                                       external_id=row.id))
        for question in row.questions:
            _question(session, question)
        _visits(session, row)
    audit.record("sessions_import", user=actor, target_type="import", target_id=record.id,
                 detail={"file": filename[:255], "sessions": record.sessions,
                         "questions": record.questions})
    db.session.flush()
    # The statistics of what was imported, counted now and committed with it: the first page
    # after the import reads stored figures (stats.refresh), not a year of rows.
    stats_refresh.in_transaction(imported)
    return record.id


def _session(row: SessionRow, departments: dict[int, Department]) -> LiveSession:
    session = LiveSession(
        slug=new_slug(row.start), title=row.title, description=row.description,
        scheduled_start=row.start, scheduled_end=row.end, plan_year=local_year(row.start),
        state=SessionState.CANCELLED if row.cancelled else SessionState.ENDED,
        moderation_mode=ModerationMode.PRE, created_at=row.planned_at,
        announced_at=None if row.cancelled else row.planned_at,
        started_at=None if row.cancelled else row.start,
        ended_at=None if row.cancelled else row.end,
        cancelled_at=row.planned_at if row.cancelled else None,
        cancel_reason=row.cancel_reason, peak_online=row.peak_online,
        participants_given=row.given_visits is not None,
        departments=[departments[d] for d in row.department_ids])
    db.session.add(session)
    ensure_plan(session.plan_year)
    db.session.flush()
    return session


def _question(session: LiveSession, row: Any) -> None:
    status = STATUS[row.status]
    question = Question(
        session_id=session.id, client_id=str(uuid.uuid4()), visitor_id=IMPORTED_ASKER,
        access_token=secrets.token_urlsafe(24), nickname=row.nickname, phone=None,
        source=row.source, original_text=row.text, text=row.text, status=status,
        reject_reason=row.reject_reason, department_id=row.department_id,
        created_at=row.asked_at, published_at=row.published_at,
        answered_at=row.answers[0].at if row.answers else None, rejected_at=row.rejected_at,
        needs_follow_up=row.follow_up is not None)
    db.session.add(question)
    db.session.flush()
    answers = {}
    for item in row.answers:
        answer = Answer(question_id=question.id, author_id=None, department_id=item.department_id,
                        kind=AnswerKind.FOLLOW_UP if item.kind == "follow_up" else AnswerKind.LIVE,
                        body=item.body, created_at=item.at)
        db.session.add(answer)
        answers[item.id] = answer
    if row.follow_up is not None:
        db.session.flush()
        follow = row.follow_up
        reply = next((a for a in reversed(list(answers.values()))
                      if a.kind == AnswerKind.FOLLOW_UP), None)
        follow_up = FollowUp(
            question_id=question.id, session_id=session.id, department_id=follow.department_id,
            due_date=follow.due, status=FollowUpStatus(follow.status), reason=follow.reason,
            outcome=follow.outcome, created_at=follow.opened_at, updated_at=follow.closed_at
            or follow.opened_at, closed_at=follow.closed_at,
            answer_id=reply.id if reply is not None and follow.status == "done" else None)
        follow_up.changes.append(FollowUpChange(at=follow.opened_at, field="created",
                                                new="imported"))
        db.session.add(follow_up)


def _visits(session: LiveSession, row: SessionRow) -> None:
    """Visit rows as given; for stated totals, as many visits by as many visitors as stated."""
    if row.given_visits is None:
        db.session.add_all(Visit(session_id=session.id, visitor_id=v.visitor[:64],
                                 started_at=v.start, ended_at=v.end or row.end, connections=0)
                           for v in row.visits)
        return
    unique = row.given_unique or 0
    # Visitor ids of an import with totals only: one per stated visitor, never shared between
    # sessions (who came to two sessions is not known), the rest of the 人次 as return visits.
    db.session.add_all(
        Visit(session_id=session.id, visitor_id=f"import:{session.id}:{n % unique}",
              started_at=row.start, ended_at=row.end, connections=0)
        for n in range(row.given_visits))
