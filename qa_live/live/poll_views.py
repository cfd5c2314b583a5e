"""Answering a live poll without the script: the citizen's page posts a plain form.

static/js/polls.js sends the same answer over the /qa socket instead (``poll_answer``), without
a reload; both go through poll_commands.answer.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from qa_live.core.visitor import visitor_id
from qa_live.live import poll_commands, polls
from qa_live.live.socket_common import EventError, client_address
from qa_live.live.views import render_live_page
from qa_live.planning.access import get_public_session_or_404
from qa_live.planning.models import SessionState

bp = Blueprint("live_polls", __name__)

#: HTTP status of each refusal (anything else: 409, not possible now).
STATUS = {"invalid": 400, "not_found": 404, "rate_limited": 429}


@bp.app_template_global()
def poll_strings() -> dict[str, str]:
    """The poll texts of the scripts, for templates (the console's poll panel)."""
    return polls.poll_strings()


@bp.post("/s/<slug>/polls/<int:poll_id>")
def answer(slug: str, poll_id: int) -> ResponseReturnValue:
    """Answer (or change one's answer to) a live poll from the page's form."""
    session = get_public_session_or_404(slug)
    page = url_for("planning.session_page", slug=session.slug)
    if session.state != SessionState.LIVE:
        flash(_("This poll has closed; answers are no longer taken."), "error")
        return redirect(page, 303)
    chosen = request.form.getlist("option")
    option_ids = [int(v) for v in chosen] if all(v.isdigit() for v in chosen) else chosen
    try:
        poll_commands.answer(session.id, poll_id, visitor_id(), option_ids, client_address())
    except EventError as exc:
        flash(exc.message, "error")
        return render_live_page(session, status=STATUS.get(exc.code, 409))
    flash(_("Thank you: your answer was counted."), "success")
    return redirect(f"{page}#poll-{poll_id}", 303)
