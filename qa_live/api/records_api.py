"""/api/v1/staff: supplementary records (补录) and imports of past sessions (issue 14).

The same operations as the pages (qa_live.transcript.supplementary, qa_live.imports), with the
same checks and audit entries; registered on the API blueprint (qa_live.api.common).
"""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from qa_live.api.common import bp, get_session_or_404, json_body, staff_user, time_field
from qa_live.auth.models import Role
from qa_live.core.uploads import upload_limit
from qa_live.extensions import db
from qa_live.imports.store import import_sessions
from qa_live.live import events
from qa_live.live.models import Question
from qa_live.live.socket_common import EventError
from qa_live.transcript import supplementary


@bp.post("/staff/sessions/<int:session_id>/questions/<int:question_id>/oral-answers")
def record_oral_answer(session_id: int, question_id: int) -> ResponseReturnValue:
    """Record an answer given orally in a session that has ended (补录)."""
    user = staff_user()
    session = get_session_or_404(session_id)
    question = db.session.get(Question, question_id)
    if question is None or question.session_id != session.id:
        raise EventError("not_found", _("There is no such question."))
    if not supplementary.can_record(user, question):
        raise EventError("forbidden", _("You do not have permission to do this."))
    data = json_body()
    department_id = data.get("department_id")
    if department_id is not None and (not isinstance(department_id, int)
                                      or isinstance(department_id, bool)):
        raise EventError("invalid", _("department_id must be an id."), {"department_id": "int"})
    answer = supplementary.add_oral_answer(question, user, data.get("body"),
                                           time_field(data, "given_at"), department_id)
    events.commit_and_send()
    return jsonify(answer={"id": answer.id, "question_id": question.id, "kind": "oral",
                           "body": answer.body, "department_id": answer.department_id,
                           "given_at": answer.given_at.isoformat() if answer.given_at else None,
                           "recorded_at": answer.created_at.isoformat(),
                           "recorded_by": user.login}), 201


@bp.post("/staff/imports")
@upload_limit("IMPORT_MAX_BYTES")
def import_file() -> ResponseReturnValue:
    """Import past sessions (office): the body is the import file (docs/imports.md).

    ?dry_run=1 checks and reports only; ?filename= names the file in the record. All of the file
    is stored in one transaction, or nothing: any refused row is 400 with every refusal.
    """
    user = staff_user(Role.OFFICE)
    dry_run = request.args.get("dry_run", "") in {"1", "true", "yes"}
    report = import_sessions(request.get_data(cache=False), request.args.get("filename", "api"),
                             user, dry_run=dry_run)
    if not report.ok:
        db.session.rollback()
        return jsonify(error="invalid", message=_("%(n)d row(s) refused: nothing was stored.",
                                                  n=len(report.refusals)),
                       report=report.as_json()), 400
    if report.stored:
        db.session.commit()
        return jsonify(report=report.as_json()), 201
    return jsonify(report=report.as_json())
