"""The office's read-only view of the audit log."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import func, select

from qa_live.audit.models import AuditEntry
from qa_live.auth.access import role_required
from qa_live.auth.models import Role
from qa_live.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/office/audit")

PAGE_SIZE = 100


def _day(value: str | None) -> datetime | None:
    """A YYYY-MM-DD date from the query string as the start of that day in the site's zone."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
    zone = ZoneInfo(current_app.config["QA_LIVE_TIMEZONE"])
    return datetime.combine(day, time.min, zone)


@bp.get("/")
@role_required(Role.OFFICE)
def log() -> ResponseReturnValue:
    """Audit entries, newest first, filtered by login, action and date range."""
    errors: list[str] = []
    query = select(AuditEntry)
    login = request.args.get("login", "").strip()[:64]
    action = request.args.get("action", "").strip()[:40]
    if login:
        query = query.where(AuditEntry.login == login)
    if action:
        query = query.where(AuditEntry.action == action)
    start, end = _day(request.args.get("from")), _day(request.args.get("to"))
    for name in ("from", "to"):
        if request.args.get(name) and _day(request.args.get(name)) is None:
            errors.append(_("Dates are written as YYYY-MM-DD."))
    if start and end and end < start:
        errors.append(_("The end date is before the start date."))
    if start:
        query = query.where(AuditEntry.at >= start)
    if end:
        query = query.where(AuditEntry.at < end + timedelta(days=1))
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    entries = db.session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    actions = db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action))
    return render_template(
        "audit/log.html", entries=entries, total=total, page=page,
        pages=max(1, -(-total // PAGE_SIZE)), actions=list(actions), errors=errors,
        args=request.args,
    )
