"""Reading an import file: its encoding, its JSON, and every row checked (docs/imports.md).

Nothing here writes. ``read_file`` returns the parsed sessions and every refusal, each naming
the row (``session 2013-03, question q12, answer a1``) and the reason; the importer stores a file
only when it has no refusal at all.
"""

from __future__ import annotations

import json
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from qa_live.extensions import db
from qa_live.imports.checker import RowChecker
from qa_live.imports.models import ImportedSession, SessionImport
from qa_live.imports.rows import FORMAT, TOTALS, ImportFile, Refusal, SessionRow


def check_totals(result: ImportFile) -> None:
    """Refuse the file when the totals it states contradict its own rows.

    Checked once every row has passed: totals of a file with refused rows would only repeat them.
    """
    if not result.totals or result.refusals:
        return
    found = rows_totals(result.sessions)
    for key, stated in result.totals.items():
        if key not in TOTALS:
            result.refusals.append(Refusal("totals", _("Unknown total %(key)s; known: %(list)s.",
                                                       key=key, list=", ".join(TOTALS))))
        elif str(stated) != str(found[key]):
            result.refusals.append(Refusal(f"totals.{key}", _(
                "The file states %(stated)s, but its rows give %(found)s.",
                stated=json.dumps(stated, ensure_ascii=False), found=found[key])))


def rows_totals(sessions: list[SessionRow]) -> dict[str, Any]:
    """What the rows add up to, by the rules of docs/metrics.md (the totals a file may state)."""
    from qa_live.stats.figures import Rate

    held = [s for s in sessions if not s.cancelled]
    questions = [q for s in held for q in s.questions]
    valid = [q for q in questions if q.status != "rejected"]
    answered = [q for q in valid if q.status == "answered"]
    return {
        "sessions": len(sessions), "held": len(held),
        "cancelled": len(sessions) - len(held),
        "departments_online": len({d for s in held for d in s.department_ids}),
        "participant_visits": sum(len(s.visits) if s.given_visits is None else s.given_visits
                                  for s in held),
        "questions": len(questions), "valid": len(valid), "answered": len(answered),
        "answer_rate": Rate(len(answered), len(valid)).percent(),
    }


def already_imported(result: ImportFile, sha256: str) -> None:
    """Refuse a file imported before, or sessions whose ids were imported before."""
    if db.session.scalar(select(func.count()).select_from(SessionImport)
                         .where(SessionImport.sha256 == sha256)):
        result.refusals.append(Refusal("file", _("This file was imported before.")))
    ids = [s.id for s in result.sessions]
    if ids:
        for known in db.session.scalars(select(ImportedSession.external_id)
                                        .where(or_(ImportedSession.external_id.in_(ids)))):
            result.refusals.append(Refusal(_("session %(id)s", id=known),
                                           _("A session with this id was imported before.")))


def read_document(text: str) -> ImportFile:
    """Parse and check a document (its text already decoded)."""
    result = ImportFile()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        result.refusals.append(Refusal(_("line %(line)d, column %(col)d", line=exc.lineno,
                                         col=exc.colno), _("Not valid JSON: %(msg)s.",
                                                            msg=exc.msg)))
        return result
    return check_document(document)


def check_document(document: object) -> ImportFile:
    """Check a parsed document row by row."""
    result = ImportFile()
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        result.refusals.append(Refusal("file", _('Not an import file: it must be an object with '
                                                 '"format": "%(format)s".', format=FORMAT)))
        return result
    year = document.get("year")
    if year is not None and (not isinstance(year, int) or not 2000 <= year <= 2100):
        result.refusals.append(Refusal("year", _("year must be a year from 2000 to 2100.")))
        year = None
    sessions = document.get("sessions")
    if not isinstance(sessions, list) or not sessions:
        result.refusals.append(Refusal("sessions", _("sessions must list at least one session.")))
        return result
    checker = RowChecker()
    for n, item in enumerate(sessions):
        session = checker.session(item, n, year)
        if session is not None:
            result.sessions.append(session)
    result.refusals.extend(checker.refusals)
    note = document.get("note", "")
    result.note = note[:2000] if isinstance(note, str) else ""
    totals = document.get("totals", {})
    if not isinstance(totals, dict):
        result.refusals.append(Refusal("totals", _("totals must be an object.")))
    else:
        result.totals = totals
        check_totals(result)
    return result
