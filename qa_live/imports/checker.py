"""Every row of an import file checked, one refusal per problem, naming the row (docs/imports.md).

Nothing here writes: the checker reads the departments and the clock, and collects the rows
that passed and the refusals.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from qa_live.core.timeutil import local_year, utcnow
from qa_live.extensions import db
from qa_live.imports.rows import (
    FOLLOW_UP_STATUSES,
    ID_MAX,
    STATUSES,
    AnswerRow,
    FollowUpRow,
    QuestionRow,
    Refusal,
    SessionRow,
    VisitRow,
)
from qa_live.live.models import QuestionSource, RejectReason
from qa_live.planning.models import Department
from qa_live.planning.services import MAX_SESSION_HOURS


class RowChecker:
    """Walks the document, collecting refusals and the rows that passed."""

    def __init__(self) -> None:
        self.refusals: list[Refusal] = []
        self.now = utcnow()
        self.departments = self._departments()
        self.seen_sessions: set[str] = set()
        self.seen_questions: set[str] = set()
        self.seen_answers: set[str] = set()

    @staticmethod
    def _departments() -> dict[str, int]:
        found: dict[str, int] = {}
        for dept in db.session.scalars(select(Department)):
            found[dept.name] = dept.id
            if dept.short_name:
                found.setdefault(dept.short_name, dept.id)
        return found

    def refuse(self, row: str, reason: str) -> None:
        self.refusals.append(Refusal(row, reason))

    # Values ---------------------------------------------------------------------------------

    def text(self, data: dict[str, Any], key: str, row: str, *, low: int = 0, high: int,
             required: bool = True) -> str | None:
        value = data.get(key, None if required else "")
        if not isinstance(value, str) or (required and not value.strip()):
            self.refuse(row, _("%(key)s must be text.", key=key) if value is not None
                        else _("%(key)s is missing.", key=key))
            return None
        value = value.replace("\r\n", "\n").strip()
        if not low <= len(value) <= high:
            self.refuse(row, _("%(key)s must have %(low)d to %(high)d characters (it has "
                               "%(n)d).", key=key, low=low, high=high, n=len(value)))
            return None
        return value

    def time(self, data: dict[str, Any], key: str, row: str,
             required: bool = True) -> datetime | None:
        value = data.get(key)
        if value is None and not required:
            return None
        try:
            parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            self.refuse(row, _("%(key)s must be a time with its zone, such as "
                               "2013-03-12T09:30:00+08:00 (got %(value)s).", key=key,
                               value=json.dumps(value, ensure_ascii=False)))
            return None
        if parsed > self.now:
            self.refuse(row, _("%(key)s (%(value)s) lies in the future: only what happened can "
                               "be imported.", key=key, value=value))
            return None
        return parsed

    def department(self, name: object, row: str) -> tuple[bool, int | None]:
        if name is None or name == "":
            return True, None
        if not isinstance(name, str) or name not in self.departments:
            self.refuse(row, _("Unknown department %(name)s: add it on the departments page (or "
                               "through the API) first, with this name or short name.",
                               name=json.dumps(name, ensure_ascii=False)))
            return False, None
        return True, self.departments[name]

    def ident(self, data: dict[str, Any], seen: set[str], row: str) -> str | None:
        value = data.get("id")
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip() or len(value) > ID_MAX:
            self.refuse(row, _("id must be text of 1 to %(n)d characters.", n=ID_MAX))
            return None
        if value in seen:
            self.refuse(row, _("The id %(id)s is used twice in the file.", id=value))
            return None
        seen.add(value)
        return value

    # Rows -----------------------------------------------------------------------------------

    def session(self, data: object, index: int, year: int | None) -> SessionRow | None:
        row = f"sessions[{index}]"
        if not isinstance(data, dict):
            self.refuse(row, _("A session must be an object."))
            return None
        ident = self.ident(data, self.seen_sessions, row)
        if ident is not None:
            row = _("session %(id)s", id=ident)
        title = self.text(data, "title", row, low=2, high=120)
        description = self.text(data, "description", row, high=4000, required=False)
        start = self.time(data, "start", row)
        end = self.time(data, "end", row)
        state = data.get("state", "ended")
        if state not in ("ended", "cancelled"):
            self.refuse(row, _("state must be ended or cancelled (a past session)."))
        if start and end:
            if end <= start:
                self.refuse(row, _("The session ends (%(end)s) before it starts (%(start)s).",
                                   end=end.isoformat(), start=start.isoformat()))
            elif (end - start).total_seconds() > MAX_SESSION_HOURS * 3600:
                self.refuse(row, _("A session lasts at most %(n)d hours.", n=MAX_SESSION_HOURS))
            if year is not None and local_year(start) != year:
                self.refuse(row, _("The session is in %(found)d, but the file is for %(year)d.",
                                   found=local_year(start), year=year))
        planned = self.time(data, "planned_at", row, required=False)
        if planned and start and planned > start:
            self.refuse(row, _("planned_at comes after the session's start."))
        names = data.get("departments")
        department_ids: list[int] = []
        known = True
        if not isinstance(names, list) or not names:
            self.refuse(row, _("departments must list the departments that went online."))
            known = False
        else:
            for name in names:
                ok, dept_id = self.department(name, row)
                known = known and ok
                if ok and dept_id is not None and dept_id not in department_ids:
                    department_ids.append(dept_id)
        if any(v is None for v in (ident, title, start, end)):
            self._questions(data, row, None)  # still check them: every refusal at once
            return None
        assert ident is not None and title is not None and start and end
        session = SessionRow(
            id=ident, title=title, description=description or "", start=start, end=end,
            cancelled=state == "cancelled", cancel_reason=str(data.get("cancel_reason", ""))[:200],
            planned_at=planned or start, department_ids=department_ids,
            departments_known=known)
        if session.cancelled:
            if data.get("questions") or data.get("participants"):
                self.refuse(row, _("A cancelled session has no questions or participants."))
            return session
        session.questions = self._questions(data, row, session)
        self._participants(data.get("participants"), row, session)
        return session

    def _questions(self, data: dict[str, Any], row: str,
                   session: SessionRow | None) -> list[QuestionRow]:
        items = data.get("questions", [])
        if not isinstance(items, list):
            self.refuse(row, _("questions must be a list."))
            return []
        found = []
        for n, item in enumerate(items):
            question = self.question(item, f"{row}, questions[{n}]", session)
            if question is not None:
                found.append(question)
        return found

    def question(self, data: object, row: str, session: SessionRow | None) -> QuestionRow | None:
        if not isinstance(data, dict):
            self.refuse(row, _("A question must be an object."))
            return None
        ident = self.ident(data, self.seen_questions, row)
        if ident is not None:
            row = row.rsplit(", ", 1)[0] + ", " + _("question %(id)s", id=ident)
        limit = current_app.config["QUESTION_MAX_LENGTH"]
        text = self.text(data, "text", row, low=1, high=limit)
        nickname = self.text(data, "nickname", row, high=32, required=False) or ""
        asked = self.time(data, "asked_at", row)
        source = data.get("source", "live")
        if source not in ("live", "advance"):
            self.refuse(row, _("source must be live or advance."))
        ok, department_id = self.department(data.get("department"), row)
        if ok and session and session.departments_known and department_id is not None \
                and department_id not in session.department_ids:
            self.refuse(row, _("The question's department did not go online in the session."))
        answers = []
        for n, item in enumerate(data.get("answers", []) if isinstance(
                data.get("answers", []), list) else []):
            answer = self.answer(item, f"{row}, answers[{n}]", asked, session, department_id)
            if answer is not None:
                answers.append(answer)
        if not isinstance(data.get("answers", []), list):
            self.refuse(row, _("answers must be a list."))
        status = data.get("status", "answered" if answers else "published")
        reason = None
        if status not in STATUSES:
            self.refuse(row, _("status must be one of: %(list)s.", list=", ".join(STATUSES)))
        elif status == "answered" and not answers:
            self.refuse(row, _("The question is answered but has no answer."))
        elif status != "answered" and answers:
            self.refuse(row, _("The question has answers, so its status is answered (not "
                               "%(status)s).", status=status))
        if status == "rejected":
            try:
                reason = RejectReason(str(data.get("reject_reason")))
            except ValueError:
                self.refuse(row, _("A rejected question needs reject_reason: one of %(list)s.",
                                   list=", ".join(r.value for r in RejectReason)))
        elif data.get("reject_reason"):
            self.refuse(row, _("Only a rejected question has a reject_reason."))
        published = self.time(data, "published_at", row, required=False)
        rejected = self.time(data, "rejected_at", row, required=False)
        if asked and session:
            if source == "live" and not session.start <= asked <= session.end:
                self.refuse(row, _("A question asked live must be asked during the session "
                                   "(%(start)s to %(end)s), not at %(at)s.",
                                   start=session.start.isoformat(), end=session.end.isoformat(),
                                   at=asked.isoformat()))
            if source == "advance" and asked > session.start:
                self.refuse(row, _("A question asked in advance must be asked before the "
                                   "session starts."))
            for name, moment in (("published_at", published), ("rejected_at", rejected)):
                if moment is not None and not asked <= moment <= session.end:
                    self.refuse(row, _("%(key)s must lie between the question and the end of the "
                                       "session.", key=name))
        follow_up = None
        if data.get("follow_up") is not None:
            if status == "rejected":
                self.refuse(row, _("A rejected question gets no follow-up."))
            follow_up = self.follow_up(data["follow_up"], f"{row}, follow_up", asked, answers,
                                       department_id)
        if None in (ident, text, asked) or status not in STATUSES or source not in (
                "live", "advance"):
            return None
        assert ident is not None and text is not None and asked is not None
        if status in ("published", "answered") and published is None:
            published = asked if source == "live" else (session.start if session else asked)
        if status == "rejected" and rejected is None:
            rejected = max(asked, session.start) if session else asked
        return QuestionRow(
            id=ident, asked_at=asked, source=QuestionSource(source), text=text, nickname=nickname,
            department_id=department_id, status=status, reject_reason=reason,
            published_at=published if status in ("published", "answered") else None,
            rejected_at=rejected if status == "rejected" else None,
            answers=sorted(answers, key=lambda a: a.at), follow_up=follow_up)

    def answer(self, data: object, row: str, asked: datetime | None, session: SessionRow | None,
               department_id: int | None) -> AnswerRow | None:
        if not isinstance(data, dict):
            self.refuse(row, _("An answer must be an object."))
            return None
        ident = self.ident(data, self.seen_answers, row)
        body = self.text(data, "body", row, low=1, high=current_app.config["ANSWER_MAX_LENGTH"])
        at = self.time(data, "at", row)
        kind = data.get("kind", "live")
        if kind not in ("live", "follow_up"):
            self.refuse(row, _("kind must be live or follow_up (a second reply)."))
        ok, dept = self.department(data.get("department"), row)
        if at and asked and at < asked:
            self.refuse(row, _("The answer (%(at)s) comes before its question (%(asked)s).",
                               at=at.isoformat(), asked=asked.isoformat()))
        if at and session:
            if kind == "live" and at > session.end:
                self.refuse(row, _("A live answer must be given by the end of the session; a "
                                   "later one is a second reply (kind follow_up)."))
            if kind == "follow_up" and at < session.end:
                self.refuse(row, _("A second reply comes after the session ended."))
        if None in (ident, body, at) or kind not in ("live", "follow_up") or not ok:
            return None
        assert ident is not None and body is not None and at is not None
        return AnswerRow(ident, at, kind, body, dept if dept is not None else department_id)

    def follow_up(self, data: object, row: str, asked: datetime | None,
                  answers: list[AnswerRow], department_id: int | None) -> FollowUpRow | None:
        if not isinstance(data, dict):
            self.refuse(row, _("follow_up must be an object."))
            return None
        opened = self.time(data, "opened_at", row)
        closed = self.time(data, "closed_at", row, required=False)
        status = data.get("status", "open")
        try:
            due = date.fromisoformat(data["due"]) if isinstance(data.get("due"), str) else None
        except ValueError:
            due = None
        if due is None:
            self.refuse(row, _("due must be a date such as 2013-03-19."))
        ok, dept = self.department(data.get("department"), row)
        if status not in FOLLOW_UP_STATUSES:
            self.refuse(row, _("status must be one of: %(list)s.",
                               list=", ".join(FOLLOW_UP_STATUSES)))
        closing = status in ("done", "impossible")
        if closing and closed is None:
            self.refuse(row, _("A follow-up that is %(status)s needs closed_at.", status=status))
        if not closing and closed is not None:
            self.refuse(row, _("Only a done or impossible follow-up has closed_at."))
        if opened and asked and opened < asked:
            self.refuse(row, _("The follow-up is opened before its question was asked."))
        if opened and closed and closed < opened:
            self.refuse(row, _("The follow-up is closed (%(closed)s) before it was opened "
                               "(%(opened)s).", closed=closed.isoformat(),
                               opened=opened.isoformat()))
        if status == "done" and not any(a.kind == "follow_up" for a in answers):
            self.refuse(row, _("A done follow-up ends in a second reply: add it to the question's "
                               "answers (kind follow_up)."))
        reason = str(data.get("reason", ""))
        if status == "impossible" and not reason.strip():
            self.refuse(row, _("A follow-up that cannot be done needs its reason."))
        if opened is None or due is None or status not in FOLLOW_UP_STATUSES or not ok:
            return None
        return FollowUpRow(opened, due, status, dept if dept is not None else department_id,
                           closed, reason[:5000], str(data.get("outcome", ""))[:5000])

    def _participants(self, data: object, row: str, session: SessionRow) -> None:
        if data is None:
            return
        if not isinstance(data, dict):
            self.refuse(row, _("participants must be an object."))
            return
        rows, visits = data.get("visits"), data.get("participant_visits")
        if rows is not None and visits is not None:
            self.refuse(row, _("Give the participants either as visit rows or as totals, not "
                               "both."))
            return
        if isinstance(rows, list):
            for n, item in enumerate(rows):
                visit = self.visit(item, f"{row}, participants.visits[{n}]", session)
                if visit is not None:
                    session.visits.append(visit)
            return
        unique, peak = data.get("unique_visitors"), data.get("peak_online", 0)
        if not (isinstance(visits, int) and isinstance(unique, int) and isinstance(peak, int)
                and is_count(visits) and is_count(unique) and is_count(peak)):
            self.refuse(row, _("participants needs visits (a list of rows), or "
                               "participant_visits and unique_visitors as whole numbers."))
            return
        if unique > visits or (visits and not unique):
            self.refuse(row, _("unique_visitors (%(unique)d) must be between 1 and "
                               "participant_visits (%(visits)d).", unique=unique, visits=visits))
            return
        if peak > unique:
            self.refuse(row, _("peak_online cannot exceed unique_visitors."))
            return
        session.given_visits, session.given_unique, session.peak_online = visits, unique, peak

    def visit(self, data: object, row: str, session: SessionRow) -> VisitRow | None:
        if not isinstance(data, dict):
            self.refuse(row, _("A visit must be an object."))
            return None
        visitor = self.text(data, "visitor", row, low=1, high=64)
        start = self.time(data, "start", row)
        end = self.time(data, "end", row, required=False)
        if start and not session.start <= start <= session.end:
            self.refuse(row, _("A visit starts during the session."))
        if start and end and end < start:
            self.refuse(row, _("The visit ends before it starts."))
        if visitor is None or start is None:
            return None
        return VisitRow(visitor, start, end)




def is_count(value: object) -> bool:
    """A whole number, not negative (a bool is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
