"""The staff's page for supplementary records (补录) of a session that has ended."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from qa_live.auth.access import role_required
from qa_live.auth.models import Role
from qa_live.core.timeutil import from_local, to_local
from qa_live.extensions import db
from qa_live.live import events
from qa_live.live.models import Question
from qa_live.live.services import QuestionRefused
from qa_live.planning.models import LiveSession
from qa_live.planning.services import state_label
from qa_live.transcript import supplementary
from qa_live.transcript.forms import OralAnswerForm

bp = Blueprint("supplementary", __name__)


def get_session_or_404(slug: str) -> LiveSession:
    """Any session by its address, for staff who may record an answer in it; else 404 / 403."""
    session = db.session.scalar(select(LiveSession).where(LiveSession.slug == slug[:64]))
    if session is None:
        abort(404)
    return session


def _form(session: LiveSession, question: Question | None = None) -> OralAnswerForm:
    form = OralAnswerForm(prefix=f"q{question.id}" if question else "q")
    form.department.choices = [("", _("Not assigned"))] + [
        (str(d.id), d.name) for d in session.departments]
    if question is not None and not form.is_submitted():
        form.department.data = str(question.department_id or "")
        start = to_local(session.started_at or session.scheduled_start)
        form.given_at.data = start.replace(tzinfo=None, second=0, microsecond=0) if start else None
    return form


def _render(session: LiveSession, failed: tuple[int, OralAnswerForm] | None = None,
            status: int = 200) -> ResponseReturnValue:
    questions = [q for q in supplementary.unanswered_questions(session)
                 if supplementary.can_record(current_user, q)]
    forms = {q.id: (failed[1] if failed and failed[0] == q.id else _form(session, q))
             for q in questions}
    return render_template("transcript/supplementary.html", session=session,
                           questions=questions, forms=forms, over=session.state in
                           supplementary.OVER, state_label=state_label), status


@bp.get("/s/<slug>/oral-answers")
@role_required(Role.OFFICE, Role.HOST, Role.ANSWERER)
def oral_answers(slug: str) -> ResponseReturnValue:
    """The session's unanswered questions, each with a form to record an oral answer."""
    return _render(get_session_or_404(slug))


@bp.post("/s/<slug>/oral-answers/<int:question_id>")
@role_required(Role.OFFICE, Role.HOST, Role.ANSWERER)
def record_oral_answer(slug: str, question_id: int) -> ResponseReturnValue:
    """Record one oral answer (补录); it shows on the transcript marked as added later."""
    session = get_session_or_404(slug)
    question = db.session.get(Question, question_id)
    if question is None or question.session_id != session.id:
        abort(404)
    if not supplementary.can_record(current_user, question):
        abort(403)
    form = _form(session, question)
    if not form.validate_on_submit():
        return _render(session, (question.id, form), 400)
    try:
        supplementary.add_oral_answer(
            question, current_user, form.body.data, from_local(form.given_at.data),
            int(form.department.data) if form.department.data else None)
    except QuestionRefused as exc:
        db.session.rollback()
        form.body.errors = [*form.body.errors, str(exc)]
        return _render(session, (question.id, form), 400)
    events.commit_and_send()
    flash(_("The answer was recorded; the transcript marks it 补录."), "success")
    return redirect(url_for("planning.session_page", slug=session.slug, _anchor=f"q-{question.id}"))
