"""The transcript page of a held session, its print view, the archive with search, and the
staff's corrections page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from qa_live.auth.access import role_required
from qa_live.auth.models import Role
from qa_live.core.urls import public_url
from qa_live.core.visitor import visitor_id
from qa_live.extensions import db
from qa_live.live import events, polls
from qa_live.live import services as live_services
from qa_live.live.models import Answer, HostPost, Question
from qa_live.planning import services as planning
from qa_live.planning.access import get_public_session_or_404
from qa_live.planning.models import LiveSession
from qa_live.planning.qr import qr_svg
from qa_live.transcript import corrections, services
from qa_live.transcript.forms import ArchiveSearchForm, CorrectionForm

bp = Blueprint("transcript", __name__)

KINDS = ("question", "answer", "post")


def _is_corrector(session: LiveSession) -> bool:
    return bool(current_user.is_authenticated and corrections.can_correct(current_user, session))


def render_transcript(session: LiveSession, status: int = 200) -> ResponseReturnValue:
    """The public page of an ended or archived session: the transcript (文字实录).

    A static page (no realtime channel): second replies published later show on reload.
    """
    visitor = visitor_id()  # the asker's own questions link to their private pages
    url = public_url("planning.session_page", slug=session.slug)
    body = render_template(
        "transcript/transcript.html",
        session=session,
        transcript=services.build_transcript(session),
        polls=polls.transcript_polls(session.id),
        mine=live_services.questions_of_visitor(session, visitor),
        status_label=live_services.status_label,
        state_label=planning.state_label,
        page_url=url,
        can_correct=_is_corrector(session),
        qr=Markup(qr_svg(url)),  # noqa: S704 - segno's own SVG, no user text in it
    )
    # The page lists this visitor's own questions with their private links.
    return body, status, {"Cache-Control": "private, no-store"}


@bp.get("/s/<slug>/print")
def print_view(slug: str) -> ResponseReturnValue:
    """The transcript as a clean page for the browser's print (no navigation, no forms)."""
    session = get_public_session_or_404(slug)
    if session.state not in services.HELD_STATES:
        flash(_("The transcript can be printed once the session has ended."), "error")
        return redirect(url_for("planning.session_page", slug=session.slug))
    return render_template(
        "transcript/print.html",
        session=session,
        transcript=services.build_transcript(session),
        page_url=public_url("planning.session_page", slug=session.slug),
        print_url=public_url("transcript.print_view", slug=session.slug),
    )


# The archive ---------------------------------------------------------------------------------


@bp.get("/archive")
def archive() -> ResponseReturnValue:
    """Past sessions by year and department, and a search over their questions and answers."""
    years = services.archive_years()
    departments = services.archive_departments()
    form = ArchiveSearchForm(formdata=request.args)
    form.year.choices = [("", _("All years"))] + [(str(y), str(y)) for y in years]
    form.department.choices = [("", _("All departments"))] + [
        (str(d.id), d.name) for d in departments]
    if request.args and not form.validate():
        return render_template("transcript/archive.html", form=form, sessions=None,
                               result=None, query="", invalid=True), 400
    year = int(form.year.data) if form.year.data else None
    department_id = int(form.department.data) if form.department.data else None
    query = (form.q.data or "").strip()
    result = sessions = None
    if query:
        result = services.search_archive(query, year, department_id, form.page.data or 1)
    else:
        sessions = services.archive_sessions(year, department_id)
    return render_template("transcript/archive.html", form=form, sessions=sessions,
                           result=result, query=query, invalid=False, year=year,
                           department_id=department_id)


# Corrections (staff) -------------------------------------------------------------------------


def get_session_for_staff_or_404(slug: str) -> LiveSession:
    """Load any session by its address (drafts too) for staff, or 404; then check the role."""
    session = db.session.scalar(select(LiveSession).where(LiveSession.slug == slug[:64]))
    if session is None:
        abort(404)
    if not corrections.can_correct(current_user, session):
        abort(403)
    return session


def _render_corrections(session: LiveSession, failed: tuple[str, int] | None = None,
                        form: CorrectionForm | None = None,
                        status: int = 200) -> ResponseReturnValue:
    revisions = corrections.revisions_of(session)
    posts = db.session.scalars(
        select(HostPost).where(HostPost.session_id == session.id, HostPost.removed.is_(False))
        .order_by(HostPost.created_at, HostPost.id)
    ).all()
    return render_template(
        "transcript/corrections.html",
        session=session,
        questions=corrections.correctable_questions(session),
        posts=posts,
        revisions=revisions,
        failed=failed,
        failed_form=form,
        form=CorrectionForm(formdata=None),
        status_label=live_services.status_label,
        state_label=planning.state_label,
    ), status


@bp.get("/s/<slug>/corrections")
@role_required(Role.OFFICE, Role.HOST)
def corrections_page(slug: str) -> ResponseReturnValue:
    """Staff only: correct the wording of questions, answers and posts; every revision kept."""
    return _render_corrections(get_session_for_staff_or_404(slug))


def _item(session: LiveSession, kind: str, item_id: int) -> Question | Answer | HostPost:
    item: Question | Answer | HostPost | None
    if kind == "question":
        item = db.session.get(Question, item_id)
        ok = item is not None and item.session_id == session.id
    elif kind == "answer":
        item = db.session.get(Answer, item_id)
        ok = item is not None and item.question.session_id == session.id
    elif kind == "post":
        item = db.session.get(HostPost, item_id)
        ok = item is not None and item.session_id == session.id and not item.removed
    else:
        abort(404)
    if not ok or item is None:
        abort(404)
    return item


@bp.post("/s/<slug>/corrections/<kind>/<int:item_id>")
@role_required(Role.OFFICE, Role.HOST)
def correct(slug: str, kind: str, item_id: int) -> ResponseReturnValue:
    """Save a corrected wording; published items update on every open page."""
    session = get_session_for_staff_or_404(slug)
    item = _item(session, kind, item_id)
    form = CorrectionForm()
    if not form.validate_on_submit():
        return _render_corrections(session, (kind, item_id), form, 400)
    try:
        if isinstance(item, Question):
            changed = corrections.correct_question(item, current_user, form.text.data or "")
        elif isinstance(item, Answer):
            changed = corrections.correct_answer(item, current_user, form.text.data or "")
        else:
            changed = corrections.correct_post(item, session, current_user, form.text.data or "")
    except live_services.QuestionRefused as exc:
        db.session.rollback()
        form.text.errors = [str(exc)]
        return _render_corrections(session, (kind, item_id), form, 400)
    events.commit_and_send()
    flash(_("Correction saved; the earlier wording is kept below.") if changed
          else _("Nothing changed: the wording is the same."), "success")
    return redirect(url_for("transcript.corrections_page", slug=session.slug)
                    + f"#{kind}-{item_id}")
