"""/api/v1/stats: the office's figures as JSON, from the same functions as the pages.

The year's, a department's, a month's and a session's figures, the follow-up figures and the
annual report's paragraph (zh and en), each optionally as of a date (?as_of=YYYY-MM-DD).
docs/api.md and docs/metrics.md describe them; registered on the API blueprint.
"""

from __future__ import annotations

import calendar as month_calendar
from datetime import date
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from qa_live.api.common import api_error, bp, staff_user
from qa_live.auth.models import Role
from qa_live.core.access import staff_network_allowed
from qa_live.extensions import db
from qa_live.live import access
from qa_live.live.socket_common import EventError
from qa_live.planning.models import LiveSession
from qa_live.stats import queries, report, serialize
from qa_live.stats.asof import AsOfError, parse_as_of
from qa_live.stats.figures import Summary
from qa_live.stats.views import (
    MAX_YEAR,
    MIN_YEAR,
    Filters,
    parse_filters,
    today_local,
)


@bp.before_request
def _stats_network() -> ResponseReturnValue | None:
    """The figures are staff functions: the same network rule as /api/v1/staff."""
    if request.path.startswith("/api/v1/stats") and not staff_network_allowed():
        return api_error("forbidden", _("Staff functions are reachable only from the office "
                                        "network."))
    return None


def _filters(year: int, **fixed: Any) -> Filters:
    """The query's filters (department, from, to, as_of) for a year, checked as the pages do."""
    staff_user(Role.OFFICE)
    values: MultiDict[str, str] = MultiDict(request.args)
    values["year"] = str(year)
    for key, value in fixed.items():
        values[key] = str(value)
    filters, errors = parse_filters(values)
    if errors:
        raise EventError("invalid", " ".join(errors))
    return filters


def _summary(filters: Filters) -> Summary:
    return queries.summarize(filters.scope(), today_local(), filters.as_of)


@bp.get("/stats/years/<int:year>")
def stats_year(year: int) -> ResponseReturnValue:
    """The period's figures (a year, narrowed by ?from=&to=&department=), as of ?as_of=."""
    filters = _filters(year)
    return jsonify(serialize.summary_json(_summary(filters), filters.runs_to))


@bp.get("/stats/years/<int:year>/departments/<int:department_id>")
def stats_department(year: int, department_id: int) -> ResponseReturnValue:
    """One department's figures in the year: its sessions and the questions attributed to it."""
    filters = _filters(year, department=department_id)
    return jsonify(serialize.summary_json(_summary(filters), filters.runs_to))


@bp.get("/stats/years/<int:year>/months/<int:month>")
def stats_month(year: int, month: int) -> ResponseReturnValue:
    """One calendar month's figures (sessions held in it)."""
    if not 1 <= month <= 12:
        raise EventError("invalid", _("The month must be a number from 1 to 12."),
                         {"month": "1..12"})
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise EventError("invalid", _("The year must be a number from %(low)d to %(high)d.",
                                      low=MIN_YEAR, high=MAX_YEAR), {"year": "int"})
    last = month_calendar.monthrange(year, month)[1]
    filters = _filters(year, **{"from": date(year, month, 1).isoformat(),
                                "to": date(year, month, last).isoformat()})
    return jsonify(serialize.summary_json(_summary(filters), filters.runs_to))


@bp.get("/stats/years/<int:year>/follow-ups")
def stats_follow_ups(year: int) -> ResponseReturnValue:
    """The follow-up (线下落实) figures: the period's, per department and per session."""
    filters = _filters(year)
    summary = _summary(filters)
    return jsonify(
        as_of=filters.runs_to.isoformat(),
        period={"from": summary.start.isoformat(), "to": summary.end.isoformat()},
        second_replies=summary.counts.second_replies,
        follow_ups=serialize.follow_ups_json(summary.counts),
        departments=[{"id": d.id, "name": d.name,
                      "follow_ups": serialize.follow_ups_json(d.counts)}
                     for d in summary.departments],
        sessions=[{"id": s.id, "title": s.title, "follow_ups": serialize.follow_ups_json(s.counts)}
                  for s in summary.sessions if s.held])


@bp.get("/stats/years/<int:year>/paragraph")
def stats_paragraph(year: int) -> ResponseReturnValue:
    """The annual report's paragraph in Chinese and English, with the day it runs to."""
    filters = _filters(year)
    summary = _summary(filters)
    day = filters.runs_to
    return jsonify(as_of=day.isoformat(), zh=report.paragraph_zh(summary, day),
                   en=report.paragraph_en(summary, day))


@bp.get("/stats/sessions/<int:session_id>")
def stats_session(session_id: int) -> ResponseReturnValue:
    """One session's figures (office, hosts, and answerers of its departments), as of ?as_of=."""
    user = staff_user(Role.OFFICE, Role.HOST, Role.ANSWERER)
    session = db.session.get(LiveSession, session_id)
    if session is None:
        raise EventError("not_found", _("There is no such session."))
    if not access.can_see_figures(user, session):
        raise EventError("forbidden", _("You do not have permission to do this."))
    try:
        as_of = parse_as_of(request.args.get("as_of"))
    except AsOfError as exc:
        raise EventError("invalid", str(exc), {"as_of": "YYYY-MM-DD"}) from exc
    data = queries.session_report(session, today_local(), as_of)
    return jsonify(serialize.session_report_json(data, as_of.day if as_of else today_local()))
