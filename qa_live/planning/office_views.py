"""The office's planning pages: departments, the year's plan (table and calendar), sessions."""

from __future__ import annotations

import calendar
from collections import defaultdict

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from qa_live.auth.access import role_required, staff_required
from qa_live.auth.models import Role, User
from qa_live.core.timeutil import from_local, local_year, to_local, utcnow
from qa_live.extensions import db
from qa_live.planning import approval, services
from qa_live.planning.forms import (
    ActionForm,
    CancelForm,
    DepartmentForm,
    ReturnForm,
    SessionForm,
    parse_guests,
)
from qa_live.planning.models import (
    ANNOUNCEABLE,
    AnnualPlan,
    ApprovalState,
    Department,
    Duty,
    LiveSession,
    ModerationMode,
    SessionStaff,
    SessionState,
)

bp = Blueprint("office", __name__, url_prefix="/office")


@bp.get("/")
@staff_required
def dashboard() -> ResponseReturnValue:
    """Staff landing page: the sessions a member is on duty for; the plan for the office."""
    mine = list(
        db.session.scalars(
            select(LiveSession)
            .join(SessionStaff)
            .where(SessionStaff.user_id == current_user.id,
                   LiveSession.state.in_([SessionState.ANNOUNCED, SessionState.LIVE,
                                          SessionState.DRAFT]))
            .order_by(LiveSession.scheduled_start)
            .distinct()
        )
    )
    drafts = (approval.departments_drafts(current_user)
              if current_user.has_role(Role.PLANNER) else [])
    waiting = len(approval.awaiting()) if current_user.has_role(Role.OFFICE) else 0
    return render_template("office/dashboard.html", mine=mine, year=local_year(utcnow()),
                           drafts=drafts, waiting=waiting, approval_label=approval.state_label)


# Departments ---------------------------------------------------------------------------------


def get_department_or_404(department_id: int) -> Department:
    """Load a department or 404."""
    return db.first_or_404(select(Department).where(Department.id == department_id))


@bp.route("/departments", methods=["GET", "POST"])
@role_required(Role.OFFICE)
def departments() -> ResponseReturnValue:
    """List departments and add one."""
    form = DepartmentForm()
    if form.validate_on_submit():
        try:
            dept = services.create_department(form.name.data, form.short_name.data or "",
                                              actor=current_user)
        except services.PlanningError as exc:
            getattr(form, exc.field or "name", form.name).errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Department %(name)s added.", name=dept.name), "success")
            return redirect(url_for("office.departments"))
    rows = db.session.scalars(
        select(Department).order_by(Department.active.desc(), Department.name)
    ).all()
    return render_template("office/departments.html", form=form, departments=rows,
                           action_form=ActionForm()), 400 if form.errors else 200


@bp.route("/departments/<int:department_id>", methods=["GET", "POST"])
@role_required(Role.OFFICE)
def department_edit(department_id: int) -> ResponseReturnValue:
    """Rename a department."""
    dept = get_department_or_404(department_id)
    form = DepartmentForm(obj=dept)
    if form.validate_on_submit():
        try:
            services.rename_department(dept, form.name.data, form.short_name.data or "",
                                      actor=current_user)
        except services.PlanningError as exc:
            getattr(form, exc.field or "name", form.name).errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Department %(name)s saved.", name=dept.name), "success")
            return redirect(url_for("office.departments"))
    return render_template("office/department_form.html", form=form, department=dept)


@bp.post("/departments/<int:department_id>/active")
@role_required(Role.OFFICE)
def department_active(department_id: int) -> ResponseReturnValue:
    """Deactivate or reactivate a department."""
    dept = get_department_or_404(department_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    services.set_department_active(dept, request.form.get("active") == "1",
                                   actor=current_user)
    db.session.commit()
    flash(_("Department %(name)s is now active.", name=dept.name) if dept.active
          else _("Department %(name)s was deactivated.", name=dept.name), "success")
    return redirect(url_for("office.departments"))


# The year's plan -----------------------------------------------------------------------------


@bp.get("/plan")
@bp.get("/plan/<int:year>")
@role_required(Role.OFFICE)
def plan(year: int | None = None) -> ResponseReturnValue:
    """The year's sessions as a table and as a calendar."""
    if year is None:
        year = local_year(utcnow())
    if not 2000 <= year <= 2100:
        abort(404)
    sessions = services.sessions_of_year(year)
    by_day: dict[tuple[int, int], list[LiveSession]] = defaultdict(list)
    for s in sessions:
        local = to_local(s.scheduled_start)
        assert local is not None
        by_day[(local.month, local.day)].append(s)
    cal = calendar.Calendar(firstweekday=0)
    months = [(m, cal.monthdayscalendar(year, m)) for m in range(1, 13)]
    # The template counts each session's questions with questions_received(), a template
    # global of live (console_views.py): planning does not read questions itself.
    return render_template(
        "office/plan.html", year=year, sessions=sessions, months=months, by_day=by_day,
        plan=db.session.get(AnnualPlan, year), state_label=services.state_label,
    )


# Sessions ------------------------------------------------------------------------------------


def get_session_or_404(session_id: int) -> LiveSession:
    """Load a session by id or 404."""
    return db.first_or_404(select(LiveSession).where(LiveSession.id == session_id))


def _fill_choices(form: SessionForm, session: LiveSession | None = None) -> None:
    current = set(session.departments if session else [])
    # A department's planner plans for their own departments only (planning/approval.py).
    own = None if current_user.has_role(Role.OFFICE) else current_user.department_ids
    form.departments.choices = [
        SelectChoice(d.id, d.name)
        for d in db.session.scalars(select(Department).order_by(Department.name))
        if (d.active or d in current) and (own is None or d.id in own)
    ]
    if own is not None:  # the same words as the planning rule, for another department's id
        form.departments.invalid_choice_message = _(
            "You may plan sessions only for your own department.")
    users = db.session.scalars(select(User).where(User.active).order_by(User.display_name)).all()
    for field, role in ((form.hosts, Role.HOST), (form.editors, Role.EDITOR),
                        (form.reviewers, Role.REVIEWER), (form.directors, Role.DIRECTOR)):
        field.choices = [SelectChoice(u.id, u.display_name) for u in users if u.has_role(role)]
    form.answerers.choices = [
        SelectChoice(u.id, _staff_label(u)) for u in users if u.has_role(Role.ANSWERER)
    ]


def _staff_label(user: User) -> str:
    depts = "、".join(d.short_name or d.name for d in user.departments)
    return f"{user.display_name} ({depts})" if depts else user.display_name


def _draft_from(form: SessionForm) -> services.SessionDraft:
    def utc(value):
        return from_local(value) if value else None

    return services.SessionDraft(
        title=form.title.data,
        description=form.description.data or "",
        scheduled_start=from_local(form.scheduled_start.data),
        scheduled_end=from_local(form.scheduled_end.data),
        department_ids=form.departments.data or [],
        host_ids=form.hosts.data or [],
        answerer_ids=form.answerers.data or [],
        editor_ids=form.editors.data or [],
        reviewer_ids=form.reviewers.data or [],
        director_ids=form.directors.data or [],
        guests=parse_guests(form.guests.data or ""),
        moderation_mode=ModerationMode(form.moderation_mode.data),
        reviewed=bool(form.reviewed.data),
        precollect_opens_at=utc(form.precollect_opens_at.data),
        precollect_closes_at=utc(form.precollect_closes_at.data),
        slug=form.slug.data or "",
        stream_url=form.stream_url.data or "",
    )


def _save(form: SessionForm, session: LiveSession | None) -> LiveSession | None:
    if not form.validate_on_submit():
        return None
    try:
        draft = _draft_from(form)
        if session is None:
            return services.create_session(draft, current_user)
        return services.update_session(session, draft, actor=current_user)
    except services.PlanningError as exc:
        target = getattr(form, exc.field, None) if exc.field else None
        if target is not None:
            target.errors = [*target.errors, str(exc)]
        else:
            form.form_errors.append(str(exc))
        return None


@bp.route("/sessions/new", methods=["GET", "POST"])
@role_required(Role.OFFICE, Role.PLANNER)
def session_new() -> ResponseReturnValue:
    """Plan a new session (a department's planner: a draft for the office's approval)."""
    form = SessionForm()
    _fill_choices(form)
    saved = _save(form, None)
    if saved is not None:
        db.session.commit()
        flash(_("Session planned. Announce it when it is ready.")
              if saved.approval == ApprovalState.NOT_REQUIRED
              else _("Draft saved. Send it to the office for approval when it is ready."),
              "success")
        return redirect(url_for("office.session_detail", session_id=saved.id))
    status = 400 if request.method == "POST" else 200
    return render_template("office/session_form.html", form=form, session=None), status


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@role_required(Role.OFFICE, Role.PLANNER)
def session_edit(session_id: int) -> ResponseReturnValue:
    """Edit a session that has not gone live yet (a planner: their departments' drafts)."""
    session = get_session_or_404(session_id)
    if not current_user.has_role(Role.OFFICE) and not approval.may_edit(current_user, session):
        abort(403)
    if session.state not in services.EDITABLE_STATES:
        flash(_("A session can be edited only before it goes live."), "error")
        return redirect(url_for("office.session_detail", session_id=session.id))
    form = SessionForm(obj=session if request.method == "GET" else None)
    _fill_choices(form, session)
    if request.method == "GET":
        form.scheduled_start.data = _naive_local(session.scheduled_start)
        form.scheduled_end.data = _naive_local(session.scheduled_end)
        form.precollect_opens_at.data = _naive_local(session.precollect_opens_at)
        form.precollect_closes_at.data = _naive_local(session.precollect_closes_at)
        form.departments.data = [d.id for d in session.departments]
        form.hosts.data = [u.id for u in session.hosts]
        form.answerers.data = [u.id for u in session.answerers]
        form.editors.data = [u.id for u in session.staff_with(Duty.EDITOR)]
        form.reviewers.data = [u.id for u in session.staff_with(Duty.REVIEWER)]
        form.directors.data = [u.id for u in session.staff_with(Duty.DIRECTOR)]
        form.reviewed.data = session.reviewed
        form.guests.data = "\n".join(f"{g.name} | {g.title}" if g.title else g.name
                                     for g in session.guests)
        form.moderation_mode.data = session.moderation_mode.value
    saved = _save(form, session)
    if saved is not None:
        db.session.commit()
        flash(_("Session saved."), "success")
        return redirect(url_for("office.session_detail", session_id=session.id))
    status = 400 if request.method == "POST" else 200
    return render_template("office/session_form.html", form=form, session=session), status


def _naive_local(value):
    local = to_local(value)
    return local.replace(tzinfo=None) if local else None


@bp.get("/sessions/<int:session_id>")
@staff_required
def session_detail(session_id: int) -> ResponseReturnValue:
    """A session's plan as staff see it, with the actions its state allows."""
    session = get_session_or_404(session_id)
    if (current_user.roles == {Role.PLANNER}
            and not approval.may_view(current_user, session)):
        abort(403)  # a planner alone sees their departments' sessions
    return render_template(
        "office/session_detail.html", session=session, action_form=ActionForm(),
        cancel_form=CancelForm(), return_form=ReturnForm(), state_label=services.state_label,
        Duty=Duty, can_plan=current_user.has_role(Role.OFFICE),
        can_edit=approval.may_edit(current_user, session),
        can_submit=(session.state == SessionState.DRAFT and session.approval in approval.SENDABLE
                    and approval.may_edit(current_user, session)),
        approval_label=approval.state_label, action_label=approval.action_label,
        history=approval.history(session), ANNOUNCEABLE=ANNOUNCEABLE,
    )


@bp.post("/sessions/<int:session_id>/announce")
@role_required(Role.OFFICE)
def session_announce(session_id: int) -> ResponseReturnValue:
    """Announce a planned session to the public."""
    session = get_session_or_404(session_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.announce_session(session, actor=current_user)
    except services.PlanningError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("The session is announced; citizens can see it now."), "success")
    return redirect(url_for("office.session_detail", session_id=session.id))


@bp.post("/sessions/<int:session_id>/cancel")
@role_required(Role.OFFICE)
def session_cancel(session_id: int) -> ResponseReturnValue:
    """Cancel a planned or announced session."""
    session = get_session_or_404(session_id)
    form = CancelForm()
    if not form.validate_on_submit():
        flash(_("Give a reason for the cancellation."), "error")
        return redirect(url_for("office.session_detail", session_id=session.id))
    try:
        services.cancel_session(session, form.reason.data, actor=current_user)
    except services.PlanningError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("The session was cancelled."), "success")
    return redirect(url_for("office.session_detail", session_id=session.id))
