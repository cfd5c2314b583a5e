"""The statistics pages: the office's dashboard, a session's own figures, downloads, the report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from qa_live.auth.access import role_required
from qa_live.auth.models import Role
from qa_live.core.figures import whole_seconds
from qa_live.core.timeutil import local_year, to_local, utcnow
from qa_live.extensions import db
from qa_live.live import access
from qa_live.live.models import RatingValue
from qa_live.planning.models import Department, LiveSession
from qa_live.planning.services import state_label
from qa_live.stats import exports, queries, report
from qa_live.stats.asof import AsOf, AsOfError, parse_as_of
from qa_live.stats.figures import Summary

bp = Blueprint("stats", __name__, url_prefix="/office/stats")

MIN_YEAR, MAX_YEAR = 2000, 2100
TABLES = ("sessions", "questions", "summary")
FORMATS = ("csv", "xlsx")


def today_local() -> date:
    """Today's date in the configured zone."""
    now = to_local(utcnow())
    assert now is not None
    return now.date()


# Filters --------------------------------------------------------------------------------------


@dataclass
class Filters:
    """What the office chose: a year, or a date range, and perhaps one department."""

    year: int
    department_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    as_of: AsOf | None = None

    @property
    def runs_to(self) -> date:
        """The day the figures run to: the as-of date, or today."""
        return self.as_of.day if self.as_of is not None else today_local()

    def scope(self) -> queries.Scope:
        """The sessions these filters cover: the year, narrowed or replaced by the dates."""
        start = self.date_from or date(self.year, 1, 1)
        end = self.date_to or date(self.year, 12, 31)
        return queries.Scope(start, end, self.department_id)

    def args(self) -> dict[str, Any]:
        """The filters as query arguments (for links and downloads)."""
        args: dict[str, Any] = {"year": self.year}
        if self.department_id is not None:
            args["department"] = self.department_id
        if self.date_from:
            args["from"] = self.date_from.isoformat()
        if self.date_to:
            args["to"] = self.date_to.isoformat()
        if self.as_of:
            args["as_of"] = self.as_of.day.isoformat()
        return args


def parse_filters(values: MultiDict[str, str]) -> tuple[Filters, list[str]]:
    """Read the filters from the query string; bad values become messages, never errors."""
    errors: list[str] = []
    filters = Filters(year=local_year(utcnow()))
    raw_year = values.get("year", "").strip()
    if raw_year:
        if raw_year.isdigit() and MIN_YEAR <= int(raw_year) <= MAX_YEAR:
            filters.year = int(raw_year)
        else:
            errors.append(_("The year must be a number from %(low)d to %(high)d.",
                            low=MIN_YEAR, high=MAX_YEAR))
    raw_dept = values.get("department", "").strip()
    if raw_dept:
        dept = db.session.get(Department, int(raw_dept)) if raw_dept.isdigit() else None
        if dept is None:
            errors.append(_("Unknown department."))
        else:
            filters.department_id = dept.id
    for key, attr, label in (("from", "date_from", _("start date")),
                             ("to", "date_to", _("end date"))):
        raw = values.get(key, "").strip()
        if not raw:
            continue
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            errors.append(_("The %(which)s must be a date like 2026-03-31.", which=label))
            continue
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            errors.append(_("The %(which)s must fall between the years %(low)d and %(high)d.",
                            which=label, low=MIN_YEAR, high=MAX_YEAR))
            continue
        setattr(filters, attr, day)
    try:
        filters.as_of = parse_as_of(values.get("as_of"))
    except AsOfError as exc:
        errors.append(str(exc))
    scope = filters.scope()
    if not errors and scope.start > scope.end:
        errors.append(_("The start date (%(start)s) is after the end date (%(end)s).",
                        start=scope.start.isoformat(), end=scope.end.isoformat()))
    return filters, errors


def departments_for_filter() -> list[Department]:
    """Departments to choose from, by name."""
    return list(db.session.scalars(select(Department).order_by(Department.name)))


# Formatting helpers for templates ----------------------------------------------------------------


def duration(seconds: float | None) -> str:
    """A duration for people: '45 s', '3 min 20 s', '2 h 5 min', '3 d 4 h'; '—' for none."""
    if seconds is None:
        return "—"
    total = whole_seconds(seconds)  # as the console shows it (Math.round)
    if total < 60:
        return _("%(s)d s", s=total)
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return _("%(m)d min %(s)d s", m=minutes, s=secs)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(h)d h %(m)d min", h=hours, m=minutes)
    days, hours = divmod(hours, 24)
    return _("%(d)d d %(h)d h", d=days, h=hours)


def chart_data(summary: Summary) -> dict[str, Any]:
    """What stats.js draws: per month and per department (passed as JSON, not inline code)."""
    depts = [d for d in summary.departments if d.id is not None or d.counts.asked]
    return {
        "months": {
            "labels": [m.label for m in summary.months],
            "held": [m.sessions_held for m in summary.months],
            "visits": [m.participant_visits for m in summary.months],
            "valid": [m.counts.valid for m in summary.months],
            "answered": [m.counts.answered for m in summary.months],
        },
        "departments": {
            "labels": [d.name or _("Not assigned") for d in depts],
            "valid": [d.counts.valid for d in depts],
            "answered": [d.counts.answered for d in depts],
        },
        "text": {
            "held": _("Sessions held"), "visits": _("Participant-visits"),
            "valid": _("Valid questions"), "answered": _("Answered"),
        },
    }


def _common() -> dict[str, Any]:
    return {"duration": duration, "state_label": state_label, "RatingValue": RatingValue,
            "reason_label": exports.reason_label, "rating_label": exports.rating_label,
            "filter_url": filter_url}


# Pages ----------------------------------------------------------------------------------------


@bp.get("")
@role_required(Role.OFFICE)
def dashboard() -> ResponseReturnValue:
    """The office's dashboard: the period at a glance, charts, sessions and departments."""
    filters, errors = parse_filters(request.args)
    context: dict[str, Any] = {"filters": filters, "errors": errors,
                               "departments": departments_for_filter(), **_common()}
    if errors:
        return render_template("stats/dashboard.html", summary=None, **context), 400
    summary = queries.summarize(filters.scope(), today_local(), filters.as_of)
    names = queries.department_names()
    return render_template("stats/dashboard.html", summary=summary, names=names,
                           chart=chart_data(summary), **context)


@bp.get("/report")
@role_required(Role.OFFICE)
def annual_report() -> ResponseReturnValue:
    """The annual report's section, printable, in Chinese and English, with copy buttons."""
    filters, errors = parse_filters(request.args)
    if errors:
        return render_template("stats/report.html", errors=errors, filters=filters,
                               summary=None, **_common()), 400
    summary = queries.summarize(filters.scope(), today_local(), filters.as_of)
    day = filters.runs_to
    return render_template(
        "stats/report.html", errors=[], filters=filters, summary=summary,
        paragraph_zh=report.paragraph_zh(summary, day),
        paragraph_en=report.paragraph_en(summary, day),
        names=queries.department_names(), **_common())


def get_session_for_stats_or_404(session_id: int) -> LiveSession:
    """Load a session the current user may read the figures of; 404 or 403 otherwise."""
    session = db.first_or_404(select(LiveSession).where(LiveSession.id == session_id))
    if not access.can_see_figures(current_user, session):
        abort(403)
    return session


@bp.get("/sessions/<int:session_id>")
@role_required(Role.OFFICE, Role.HOST, Role.ANSWERER)
def session_stats(session_id: int) -> ResponseReturnValue:
    """One session's figures, for its hosts, its departments' answerers and the office."""
    session = get_session_for_stats_or_404(session_id)
    try:
        as_of = parse_as_of(request.args.get("as_of"))
    except AsOfError as exc:
        return render_template("stats/session.html", session=session, data=None, counts=None,
                               errors=[str(exc)], as_of=None, can_plan=False, **_common()), 400
    data = queries.session_report(session, today_local(), as_of)
    return render_template("stats/session.html", session=session, data=data, errors=[],
                           as_of=as_of, counts=data.session.counts,
                           can_plan=current_user.has_role(Role.OFFICE), **_common())


# Downloads ------------------------------------------------------------------------------------


def _download(table: str, fmt: str, summary: Summary, department_id: int | None,
              session_ids: list[int], stem: str, as_of: AsOf | None = None) -> Response:
    rows: Iterable[list[Any]]
    if table == "sessions":
        header, rows = exports.session_table(summary, queries.department_names())
        sheet = _("Sessions")
    elif table == "summary":
        header, rows = exports.summary_table(summary)
        sheet = _("Summary")
    else:
        header, rows = exports.question_header(), exports.question_rows(
            session_ids, department_id, as_of.at if as_of else None)
        sheet = _("Questions")
    filename = f"{stem}-{table}.{fmt}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "csv":
        return Response(stream_with_context(exports.csv_stream(header, rows)),
                        mimetype="text/csv", headers=disposition)
    return Response(exports.xlsx_bytes(sheet, header, rows), headers=disposition,
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/export/<table>.<fmt>")
@role_required(Role.OFFICE)
def export(table: str, fmt: str) -> ResponseReturnValue:
    """The session table, question list or summary of the filtered period, as CSV or XLSX."""
    if table not in TABLES or fmt not in FORMATS:
        abort(404)
    filters, errors = parse_filters(request.args)
    if errors:
        from qa_live.core.errors import error_response

        return error_response(400, " ".join(errors))
    scope = filters.scope()
    summary = queries.summarize(scope, today_local(), filters.as_of)
    held = [s.id for s in summary.sessions]
    stem = f"qa-stats-{scope.start.isoformat()}-{scope.end.isoformat()}"
    if filters.as_of:
        stem += f"-as-of-{filters.as_of.day.isoformat()}"
    return _download(table, fmt, summary, scope.department_id, held, stem, filters.as_of)


@bp.get("/sessions/<int:session_id>/questions.<fmt>")
@role_required(Role.OFFICE, Role.HOST, Role.ANSWERER)
def session_questions(session_id: int, fmt: str) -> ResponseReturnValue:
    """One session's question list as CSV or XLSX, for those who may see its figures."""
    if fmt not in FORMATS:
        abort(404)
    session = get_session_for_stats_or_404(session_id)
    header, rows = exports.question_header(), exports.question_rows([session.id], None)
    filename = f"qa-session-{session.slug}-questions.{fmt}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "csv":
        return Response(stream_with_context(exports.csv_stream(header, rows)),
                        mimetype="text/csv", headers=disposition)
    return Response(exports.xlsx_bytes(_("Questions"), header, rows), headers=disposition,
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def filter_url(endpoint: str, filters: Filters, **extra: Any) -> str:
    """A URL carrying the current filters."""
    return url_for(endpoint, **filters.args(), **extra)
