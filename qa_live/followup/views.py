"""Follow-up pages for staff: the lists, one follow-up, the "to notify" list, the calendar."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from qa_live.auth.access import role_required, staff_required
from qa_live.auth.models import Role
from qa_live.extensions import db
from qa_live.followup import calendar, dates, labels, lists, notify, services
from qa_live.followup.forms import (
    CalendarDayForm,
    CloseForm,
    FollowUpForm,
    ImpossibleForm,
    ReplyForm,
)
from qa_live.followup.models import DayKind, FollowUp, FollowUpStatus, NotifyState
from qa_live.live import access, events
from qa_live.live.models import Question, QuestionStatus
from qa_live.live.services import QuestionRefused
from qa_live.planning.forms import ActionForm
from qa_live.planning.models import Department, LiveSession

bp = Blueprint("followup", __name__, url_prefix="/follow-ups")


# Follow-up statuses as staff read them, in every template.
bp.add_app_template_global(labels.status_label, "follow_up_status_label")


# Loading ------------------------------------------------------------------------------------


def get_follow_up_or_404(follow_up_id: int) -> FollowUp:
    """Load a follow-up the current user may work on: 404 if unknown, 403 if not theirs."""
    follow_up = db.session.get(FollowUp, follow_up_id)
    if follow_up is None:
        abort(404)
    if not access.works_for(current_user, follow_up.department_id):
        abort(403)
    return follow_up


def _attach(form: FlaskForm, exc: QuestionRefused, aliases: dict[str, str] | None = None) -> None:
    """Put a service's error next to its field, or above the form."""
    name = getattr(exc, "field", None)
    name = (aliases or {}).get(name or "", name)
    field = getattr(form, name, None) if name else None
    if field is not None:
        field.errors = [*field.errors, str(exc)]
    else:
        form.form_errors.append(str(exc))


def _optional_id(value: int | None) -> int | None:
    return value or None


def _fill(form: FollowUpForm, follow_up: FollowUp | None, with_status: bool) -> None:
    departments = lists.department_choices(current_user)
    if follow_up is not None and follow_up.department is not None \
            and follow_up.department not in departments:
        departments.append(follow_up.department)
    dept_ids = None if access.sees_all(current_user) else current_user.department_ids
    form.fill_choices(departments, lists.assignee_choices(dept_ids),
                      allow_no_department=access.sees_all(current_user),
                      with_status=with_status)


# Lists --------------------------------------------------------------------------------------


def _filter_departments() -> list[Department]:
    rows = db.session.scalars(select(Department).order_by(Department.name)).all()
    if access.sees_all(current_user):
        return list(rows)
    return [d for d in rows if d.id in current_user.department_ids]


@bp.get("/")
@staff_required
def index() -> ResponseReturnValue:
    """The lists: open, due soon, overdue (highlighted), closed; by department or session."""
    view = request.args.get("view", "open")
    if view not in lists.VIEWS:
        view = "open"
    department_id = request.args.get("department", type=int)
    session_id = request.args.get("session", type=int)
    today = calendar.local_today()
    rows = lists.list_follow_ups(current_user, view, department_id, session_id, today)
    counts = lists.list_counts(current_user, department_id, session_id, today)
    session = db.session.get(LiveSession, session_id) if session_id else None
    return render_template(
        "followup/index.html", rows=rows, counts=counts, view=view,
        views=labels.view_labels(),
        department_id=department_id, session=session, departments=_filter_departments(),
        today=today, is_overdue=dates.is_overdue,
        notify_count=len(lists.to_notify(current_user)),
    )


@bp.get("/notify")
@staff_required
def notify_list() -> ResponseReturnValue:
    """Citizens to tell of a second reply: reveal the number, call, mark done."""
    rows = lists.to_notify(current_user)
    return render_template("followup/notify.html", rows=rows, action_form=ActionForm(),
                           contacts=notify.citizen_contacts([f.question for f in rows]))


@bp.get("/session/<int:session_id>")
@staff_required
def session_follow_ups(session_id: int) -> ResponseReturnValue:
    """A session's valid questions with their follow-ups, and links to open missing ones."""
    session = db.session.get(LiveSession, session_id)
    if session is None:
        abort(404)
    rows = [(q, f) for q, f in lists.session_questions(session)
            if access.handles(current_user, q)
            or (f is not None and access.works_for(current_user, f.department_id))]
    return render_template("followup/session.html", session=session, rows=rows,
                           today=calendar.local_today(), is_overdue=dates.is_overdue)


# One follow-up ------------------------------------------------------------------------------


@bp.route("/new/<int:question_id>", methods=["GET", "POST"])
@staff_required
def create(question_id: int) -> ResponseReturnValue:
    """Open a follow-up on a question (from the office or the session's follow-up page)."""
    question = db.session.get(Question, question_id)
    if question is None:
        abort(404)
    if not access.handles(current_user, question):
        abort(403)
    existing = services.follow_up_of(question)
    if existing is not None:
        flash(_("This question already has a follow-up."), "info")
        return redirect(url_for("followup.detail", follow_up_id=existing.id))
    form = FollowUpForm()
    _fill(form, None, with_status=False)
    refused = None
    if question.status == QuestionStatus.REJECTED:
        refused = _("A rejected question gets no follow-up.")
    if request.method == "GET":
        form.due_date.data = dates.default_due_date(question.session)
        default = question.department_id or (question.session.departments[0].id
                                             if len(question.session.departments) == 1 else 0)
        allowed = {c.value for c in form.department_id.choices}
        form.department_id.data = default if default in allowed else (
            next(iter(sorted(allowed)), 0))
    elif refused is None and form.validate_on_submit():
        try:
            follow_up = services.create_follow_up(
                question, current_user, department_id=_optional_id(form.department_id.data),
                assignee_id=_optional_id(form.assignee_id.data), due_date=form.due_date.data,
                notes=form.notes.data or "")
        except QuestionRefused as exc:
            db.session.rollback()
            _attach(form, exc)
        else:
            db.session.commit()
            flash(_("Follow-up opened."), "success")
            return redirect(url_for("followup.detail", follow_up_id=follow_up.id))
    status = 409 if refused else (400 if request.method == "POST" else 200)
    return render_template("followup/new.html", form=form, question=question,
                           refused=refused), status


def _render_detail(follow_up: FollowUp, status: int = 200, phone: str | None = None,
                   **forms: Any) -> ResponseReturnValue:
    edit_form = forms.get("edit_form")
    if edit_form is None and not follow_up.is_closed:
        edit_form = FollowUpForm(formdata=None, obj=follow_up)
        _fill(edit_form, follow_up, with_status=True)
        edit_form.department_id.data = follow_up.department_id or 0
        edit_form.assignee_id.data = follow_up.assignee_id or 0
        edit_form.status.data = follow_up.status.value
    reply_form = forms.get("reply_form")
    if reply_form is None and follow_up.answer is not None:
        reply_form = ReplyForm(formdata=None, body=follow_up.answer.body)
    response = make_response(render_template(
        "followup/detail.html", follow_up=follow_up, question=follow_up.question,
        session=follow_up.question.session, edit_form=edit_form,
        close_form=forms.get("close_form") or CloseForm(formdata=None),
        impossible_form=(forms.get("impossible_form")
                         or ImpossibleForm(formdata=None, prefix="impossible")),
        reply_form=reply_form, action_form=ActionForm(), phone=phone,
        citizen=notify.citizen_contact(follow_up.question),
        changes=labels.change_labels(), today=calendar.local_today(),
        overdue=dates.is_overdue(follow_up), NotifyState=NotifyState,
    ), status)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/<int:follow_up_id>")
@staff_required
def detail(follow_up_id: int) -> ResponseReturnValue:
    """One follow-up: the question, its answers, the work, the history."""
    return _render_detail(get_follow_up_or_404(follow_up_id))


@bp.post("/<int:follow_up_id>/edit")
@staff_required
def edit(follow_up_id: int) -> ResponseReturnValue:
    """Change department, assignee, due date, notes or status (open ⇄ in progress)."""
    follow_up = get_follow_up_or_404(follow_up_id)
    form = FollowUpForm()
    _fill(form, follow_up, with_status=True)
    if form.validate_on_submit():
        try:
            changed = services.update_follow_up(
                follow_up, current_user, department_id=_optional_id(form.department_id.data),
                assignee_id=_optional_id(form.assignee_id.data), due_date=form.due_date.data,
                notes=form.notes.data or "",
                status=FollowUpStatus(form.status.data) if form.status.data
                else services.UNSET)
        except QuestionRefused as exc:
            db.session.rollback()
            _attach(form, exc)
        else:
            db.session.commit()
            flash(_("Follow-up saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("followup.detail", follow_up_id=follow_up.id))
    return _render_detail(follow_up, 400, edit_form=form)


@bp.post("/<int:follow_up_id>/close")
@staff_required
def close(follow_up_id: int) -> ResponseReturnValue:
    """Close as done and publish the second reply."""
    follow_up = get_follow_up_or_404(follow_up_id)
    form = CloseForm()
    if form.validate_on_submit():
        try:
            services.close_done(follow_up, current_user, form.reply.data or "",
                                form.outcome.data or "")
        except QuestionRefused as exc:
            db.session.rollback()
            _attach(form, exc)
        else:
            events.commit_and_send()
            if services.deliver_notification(follow_up):
                db.session.commit()
            flash(_("Closed. The second reply is published."), "success")
            return redirect(url_for("followup.detail", follow_up_id=follow_up.id))
    return _render_detail(follow_up, 400, close_form=form)


@bp.post("/<int:follow_up_id>/impossible")
@staff_required
def impossible(follow_up_id: int) -> ResponseReturnValue:
    """Close as cannot be done, with the reason."""
    follow_up = get_follow_up_or_404(follow_up_id)
    form = ImpossibleForm(prefix="impossible")
    if form.validate_on_submit():
        try:
            services.close_impossible(follow_up, current_user, form.reason.data or "",
                                      form.outcome.data or "")
        except QuestionRefused as exc:
            db.session.rollback()
            _attach(form, exc)
        else:
            db.session.commit()
            flash(_("Closed as cannot be done."), "success")
            return redirect(url_for("followup.detail", follow_up_id=follow_up.id))
    return _render_detail(follow_up, 400, impossible_form=form)


@bp.post("/<int:follow_up_id>/reply")
@staff_required
def reply(follow_up_id: int) -> ResponseReturnValue:
    """Reword the second reply (the history is kept)."""
    follow_up = get_follow_up_or_404(follow_up_id)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            services.edit_reply(follow_up, current_user, form.body.data or "")
        except QuestionRefused as exc:
            db.session.rollback()
            _attach(form, exc, {"reply": "body"})
        else:
            events.commit_and_send()
            flash(_("The second reply was saved."), "success")
            return redirect(url_for("followup.detail", follow_up_id=follow_up.id))
    return _render_detail(follow_up, 400, reply_form=form)


@bp.post("/<int:follow_up_id>/reveal")
@staff_required
def reveal(follow_up_id: int) -> ResponseReturnValue:
    """Show the citizen's full phone number, once, on this page (recorded and audited)."""
    follow_up = get_follow_up_or_404(follow_up_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        phone = services.reveal_phone(follow_up, current_user)
    except QuestionRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("followup.detail", follow_up_id=follow_up.id))
    db.session.commit()
    return _render_detail(follow_up, phone=phone)


@bp.post("/<int:follow_up_id>/notified")
@staff_required
def notified(follow_up_id: int) -> ResponseReturnValue:
    """The citizen has been told of the second reply."""
    follow_up = get_follow_up_or_404(follow_up_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.mark_notified(follow_up, current_user)
    except QuestionRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("Marked as told."), "success")
    if request.form.get("next") == "notify":
        return redirect(url_for("followup.notify_list"))
    return redirect(url_for("followup.detail", follow_up_id=follow_up.id))


# The working-day calendar -------------------------------------------------------------------


@bp.route("/calendar", methods=["GET", "POST"])
@role_required(Role.OFFICE)
def calendar_page() -> ResponseReturnValue:
    """The office's public holidays and make-up working days for a year."""
    year = request.args.get("year", type=int) or calendar.local_today().year
    if not 2000 <= year <= 2100:
        abort(404)
    form = CalendarDayForm()
    if form.validate_on_submit():
        try:
            calendar.set_day(form.day.data, DayKind(form.kind.data), form.name.data or "")
        except calendar.CalendarError as exc:
            db.session.rollback()
            form.name.errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("%(day)s saved.", day=form.day.data.isoformat()), "success")
            return redirect(url_for("followup.calendar_page", year=form.day.data.year))
    status = 400 if request.method == "POST" else 200
    office = calendar.days_of_year(year)
    overridden = {d.day for d in office}
    published = [entry for day, entry in sorted(calendar.published_days(
        date(year, 1, 1), date(year, 12, 31)).items())]
    return render_template("followup/calendar.html", year=year, form=form,
                           days=office, action_form=ActionForm(), DayKind=DayKind,
                           published=published, overridden=overridden,
                           published_years=calendar.published_years(),
                           source=calendar.SOURCE), status


@bp.post("/calendar/<day>/remove")
@role_required(Role.OFFICE)
def calendar_remove(day: str) -> ResponseReturnValue:
    """Drop a day from the calendar: it follows the week again."""
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    if calendar.remove_day(parsed):
        db.session.commit()
        flash(_("%(day)s removed.", day=parsed.isoformat()), "success")
    return redirect(url_for("followup.calendar_page", year=parsed.year))
