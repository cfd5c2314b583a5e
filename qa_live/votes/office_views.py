"""The office's vote pages: prepare, open and close public votes, read their results, act on them.

A department's staff may propose a session's candidate themes here too; opening, closing and
acting on results are the office's (the operations check it, the pages only show what fits).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from qa_live.auth.access import role_required
from qa_live.auth.models import Role
from qa_live.core.timeutil import from_local, local_year, utcnow
from qa_live.extensions import db
from qa_live.planning.forms import ActionForm
from qa_live.planning.models import Department, LiveSession
from qa_live.planning.services import PlanningError
from qa_live.votes import ballots, payloads, services
from qa_live.votes.ballots import BallotError
from qa_live.votes.forms import ApplyThemeForm, DepartmentsVoteForm, DraftPlanForm, ThemeVoteForm
from qa_live.votes.models import Poll, PollKind

bp = Blueprint("office_votes", __name__, url_prefix="/office/votes")


def get_vote_or_404(poll_id: int) -> Poll:
    """A public vote (any state) for staff, or 404."""
    poll = db.session.get(Poll, poll_id)
    if poll is None or poll.kind not in services.PUBLIC_KINDS:
        abort(404)
    return poll


def _local(value: datetime | None) -> datetime | None:
    return from_local(value) if value else None


def _show_error(form: FlaskForm, exc: BallotError) -> None:
    target = getattr(form, exc.field, None) if exc.field else None
    if target is None and exc.field == "department_ids":
        target = getattr(form, "departments", None)
    if target is not None:
        target.errors = [*target.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


@bp.route("/", methods=["GET", "POST"])
@role_required(Role.OFFICE)
def index() -> ResponseReturnValue:
    """Every public vote, and preparing next year's departments vote."""
    form = DepartmentsVoteForm()
    departments = list(db.session.scalars(
        select(Department).where(Department.active.is_(True)).order_by(Department.name)))
    form.departments.choices = [(d.id, d.name) for d in departments]
    if request.method == "GET":
        year = local_year(utcnow()) + 1
        form.year.data = year
        form.question.data = _("Which departments should go online in %(year)d?", year=year)
    if form.validate_on_submit():
        try:
            poll = services.create_departments_vote(
                form.year.data, form.question.data, form.departments.data or [],
                form.max_choices.data, current_user, form.description.data or "",
                _local(form.closes_at.data))
        except BallotError as exc:
            db.session.rollback()
            _show_error(form, exc)
        else:
            db.session.commit()
            flash(_("The vote is prepared. Open it when it is ready."), "success")
            return redirect(url_for("office_votes.detail", poll_id=poll.id))
    now = utcnow()
    status = 400 if request.method == "POST" else 200
    return render_template("votes/office_index.html", form=form, polls=services.staff_votes(),
                           now=now, kind_label=payloads.kind_label,
                           state_label=payloads.state_label), status


@bp.route("/theme/<int:session_id>", methods=["GET", "POST"])
@role_required(Role.OFFICE, Role.HOST, Role.ANSWERER)
def theme(session_id: int) -> ResponseReturnValue:
    """Propose a session's candidate themes for citizens to vote."""
    session = db.session.get(LiveSession, session_id)
    if session is None:
        abort(404)
    if not services.may_propose_themes(current_user, session):
        abort(403)
    form = ThemeVoteForm()
    if request.method == "GET":
        form.question.data = _("Which theme should this session take?")
    if form.validate_on_submit():
        try:
            services.create_theme_vote(
                session, form.question.data, (form.themes.data or "").splitlines(),
                current_user, form.description.data or "", _local(form.closes_at.data))
        except BallotError as exc:
            db.session.rollback()
            _show_error(form, exc)
        else:
            db.session.commit()
            flash(_("The themes are proposed. The office opens the vote."), "success")
            return redirect(url_for("office.session_detail", session_id=session.id))
    status = 400 if request.method == "POST" else 200
    return render_template("votes/office_theme.html", form=form, session=session), status


@bp.get("/<int:poll_id>")
@role_required(Role.OFFICE)
def detail(poll_id: int) -> ResponseReturnValue:
    """A vote with its results so far and the actions its state allows."""
    poll = get_vote_or_404(poll_id)
    now = utcnow()
    found = ballots.results(poll)
    ranking = ballots.ranked(poll, found)
    apply_form = ApplyThemeForm()
    best = ranking[0][1] if ranking else 0
    apply_form.option.choices = [(o.id, o.label) for o, n in ranking if n == best and n > 0]
    return render_template(
        "votes/office_detail.html", poll=poll, vote=payloads.vote_payload(poll, now, found,
                                                                          staff=True),
        ranking=ranking, found=found, now=now, action_form=ActionForm(),
        plan_form=DraftPlanForm(), apply_form=apply_form, PollKind=PollKind,
        session=db.session.get(LiveSession, poll.session_id) if poll.session_id else None,
        kind_label=payloads.kind_label, state_label=payloads.state_label)


def _act(poll_id: int, form: FlaskForm, done: str,
         action: Callable[[Poll], object]) -> ResponseReturnValue:
    poll = get_vote_or_404(poll_id)
    if not form.validate_on_submit():
        flash(_("The form expired or was incomplete. Please try again."), "error")
        return redirect(url_for("office_votes.detail", poll_id=poll.id))
    try:
        action(poll)
    except (BallotError, PlanningError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("office_votes.detail", poll_id=poll.id))


@bp.post("/<int:poll_id>/open")
@role_required(Role.OFFICE)
def open_(poll_id: int) -> ResponseReturnValue:
    """Open the vote to citizens."""
    return _act(poll_id, ActionForm(), _("The vote is open."),
                lambda poll: services.open_vote(poll, current_user))


@bp.post("/<int:poll_id>/close")
@role_required(Role.OFFICE)
def close(poll_id: int) -> ResponseReturnValue:
    """Close the vote; its results become public."""
    return _act(poll_id, ActionForm(), _("The vote is closed; its results are public."),
                lambda poll: services.close_vote(poll, current_user))


@bp.post("/<int:poll_id>/draft-plan")
@role_required(Role.OFFICE)
def draft_plan(poll_id: int) -> ResponseReturnValue:
    """Draft next year's sessions for the top departments."""
    form = DraftPlanForm()
    return _act(poll_id, form, _("Draft sessions were added to the plan."),
                lambda poll: services.draft_plan(poll, form.top.data, current_user))


@bp.post("/<int:poll_id>/apply-theme")
@role_required(Role.OFFICE)
def apply_theme(poll_id: int) -> ResponseReturnValue:
    """Make the winning theme the session's title."""
    form = ApplyThemeForm()
    return _act(poll_id, form, _("The session's theme was changed."),
                lambda poll: services.apply_theme(poll, current_user, form.option.data))
