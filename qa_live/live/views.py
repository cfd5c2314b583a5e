"""The citizen's live page and the projector view; static/js/live.js and screen.js keep them live.

Both pages are rendered from the same snapshot the /qa socket's ``join`` sends, so they are
useful before (and without) the script, and the script takes over from exactly that state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from qa_live.auth.citizens import sign_in_state
from qa_live.core import shared_pages
from qa_live.core.timeutil import to_local
from qa_live.core.urls import public_url
from qa_live.core.visitor import current_visitor, visitor_id
from qa_live.extensions import db, limiter
from qa_live.live import events, intake, polls
from qa_live.live import services as live_services
from qa_live.live.media import views as media_views
from qa_live.live.models import QuestionSource, Vote
from qa_live.live.page_strings import page_strings
from qa_live.live.snapshots import snapshot
from qa_live.live.stream_filter import StreamFilter, show_labels
from qa_live.live.validation import PHONE_RE, InvalidInput, parse_question
from qa_live.planning import services as planning
from qa_live.planning.access import get_public_session_or_404
from qa_live.planning.forms import AdvanceQuestionForm
from qa_live.planning.models import Duty, LiveSession, SessionState
from qa_live.planning.qr import qr_svg
from qa_live.votes import ballots

bp = Blueprint("live", __name__)

SORTS = ("newest", "votes")
SCREEN_TOP = 5  # questions in the projector's "most upvoted" list


# Shared helpers -------------------------------------------------------------------------------


def local_time(value: str | None, fmt: str = "%H:%M") -> str:
    """An ISO 8601 time from a snapshot, as people read it in the local zone."""
    if not value:
        return ""
    local = to_local(datetime.fromisoformat(value))
    return local.strftime(fmt) if local else ""


def sort_questions(questions: list[dict[str, Any]], order: str) -> list[dict[str, Any]]:
    """Pinned first, then newest published or most upvoted (the order live.js keeps too)."""
    def newest(q: dict[str, Any]) -> tuple[str, int]:
        return (q["published_at"] or q["created_at"] or "", q["id"])

    ordered = sorted(questions, key=newest, reverse=True)
    if order == "votes":
        ordered.sort(key=lambda q: q["upvotes"], reverse=True)  # stable: newest breaks ties
    ordered.sort(key=lambda q: q["pinned"], reverse=True)
    return ordered


def sort_posts(posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Host posts: pinned on top, then newest first."""
    ordered = sorted(posts, key=lambda p: p["id"], reverse=True)
    ordered.sort(key=lambda p: p["pinned"], reverse=True)
    return ordered


def state_labels() -> dict[str, str]:
    """Every session state's translated name, for the badge the scripts keep current."""
    return {state.value: planning.state_label(state) for state in SessionState}


def duty_label(duty: str) -> str:
    """What a staff member does in the session, as citizens read it."""
    return _("Host") if duty == Duty.HOST.value else _("On duty")


def _socket_config(session: LiveSession, snap: dict[str, Any]) -> dict[str, Any]:
    return {
        "slug": session.slug,
        "namespace": events.PUBLIC_NS,
        "socket_path": "/socket.io",
        "timezone": current_app.config["QA_LIVE_TIMEZONE"],
        "lang": str(get_locale()),  # the socket speaks the page's language (?lang= included)
        "ack_timeout_ms": 10000,
        "states": state_labels(),
        "snapshot": snap,
    }


# The citizen's page ---------------------------------------------------------------------------


def live_strings() -> dict[str, str]:
    """Every text live.js shows, translated for the page's language (placeholders kept)."""
    return {
        "reconnecting": _("Connection lost. Reconnecting…"),
        "reconnected": _("Reconnected."),
        "reload": _("Please reload the page to join the session."),
        "reload_button": _("Reload"),
        "failed": _("That did not work. Please try again."),
        "unavailable": _("The service is briefly unavailable. Your question is kept and will "
                         "be sent again in a moment."),
        "citizen": _("Citizen"),
        "pinned": _("Pinned"),
        "advance": _("Asked in advance"),
        "follow_up": _("Offline follow-up"),
        "answer": _("Answer"),
        "follow_up_answer": _("Second reply"),
        "upvote": _("Upvote"),
        "upvoted": _("Upvoted"),
        "votes": _("%(n)d upvotes"),
        "policy": _("Policy explanation"),
        "notice": _("Notice"),
        "sending": _("Sending…"),
        "queued": _("Not sent yet: it goes out as soon as the connection is back."),
        "received": _("Your question was received. It appears below under “My questions”."),
        "no_reply": _("The server did not answer. Your question is kept and sent again "
                      "when the connection is back."),
        "text_empty": _("Please write your question."),
        "text_short": _("A question needs at least %(n)d characters."),
        "text_long": _("A question may have at most %(n)d characters (this one has %(len)d)."),
        "nickname_long": _("A nickname may have at most %(n)d characters."),
        "phone_bad": _("Enter an 11-digit mainland mobile number, such as 13812341234, "
                       "or leave it empty."),
        "published_as": _("Published as:"),
        "follow_link": _("Follow this question"),
        # the session's facts, redrawn when the office changes them (static/js/session_facts.js)
        "departments": _("Departments online"),
        "on_duty": _("On duty"),
        "guests": _("Guests"),
        "duty_host": duty_label(Duty.HOST.value),
        "duty_on_duty": duty_label(Duty.ANSWERER.value),
    }


def _voted_ids(visitor: str, questions: list[dict[str, Any]]) -> list[int]:
    ids = [q["id"] for q in questions]
    if not ids:
        return []
    return sorted(db.session.scalars(
        select(Vote.question_id).where(Vote.visitor_id == visitor, Vote.question_id.in_(ids))
    ))


def _ask_form() -> AdvanceQuestionForm:
    form = AdvanceQuestionForm()
    if not form.client_id.data:
        form.client_id.data = shared_pages.client_id()  # a hole in a page rendered to share
    return form


def render_live_page(session: LiveSession, form: AdvanceQuestionForm | None = None,
                     status: int = 200) -> ResponseReturnValue:
    """The live session page for citizens: the stream, the posts, asking, voting.

    qa_live/public.py dispatches /s/<slug> here while the session is live (the transcript
    once it has ended).
    """
    visitor = visitor_id()  # sets the signed cookie the /qa socket needs
    snap = snapshot(session, visitor)
    order = request.args.get("sort", "newest")
    if order not in SORTS:
        order = "newest"
    is_live = session.state == SessionState.LIVE
    my_polls = ballots.choices_of([p["id"] for p in snap["polls"]], visitor)
    questions = sort_questions(snap["questions"], order)
    unanswered = [q for q in questions if q["status"] == "approved"]
    filters = StreamFilter.from_args(request.args)
    url = public_url("planning.session_page", slug=session.slug)
    config = _socket_config(session, snap)
    config.update({
        "sort": order,
        "voted": _voted_ids(visitor, snap["questions"]),
        "question_min": current_app.config["QUESTION_MIN_LENGTH"],
        "question_max": current_app.config["QUESTION_MAX_LENGTH"],
        "nickname_max": current_app.config["NICKNAME_MAX_LENGTH"],
        "phone_pattern": PHONE_RE.pattern,
        "t": {**live_strings(), **page_strings(), **media_views.media_strings()},
        "filter": {"q": filters.text, "show": filters.show},
        **media_views.player_config(),
        "my_polls": {str(k): v for k, v in my_polls.items()},
        "poll_t": polls.poll_strings(),
    })
    body = render_template(
        "live/live.html",
        session=session,
        snap=snap,
        is_live=is_live,
        questions=filters.apply(questions),
        filters=filters,
        show_labels=show_labels(),
        posts=sort_posts(snap["posts"]),
        unanswered=unanswered,
        voted=set(config["voted"]),
        my_polls=my_polls,
        order=order,
        form=form or _ask_form(),
        citizen=sign_in_state(),
        config=config,
        state_label=planning.state_label,
        duty_label=duty_label,
        local_time=local_time,
        page_url=url,
        qr=Markup(qr_svg(url)),  # noqa: S704 - segno's own SVG, no user text in it
    )
    # The page lists this visitor's own questions with their private links.
    return body, status, {"Cache-Control": "private, no-store"}


def _ask_limit() -> str:
    return current_app.config["ADVANCE_QUESTION_RATE_LIMIT"]


@bp.post("/s/<slug>/live-ask")
@limiter.limit(_ask_limit)
def ask_live(slug: str) -> ResponseReturnValue:
    """Ask without the script (a plain form post); live.js asks over the socket instead."""
    session = get_public_session_or_404(slug)
    if session.state != SessionState.LIVE:
        flash(_("This session is not live; questions are closed."), "error")
        return redirect(url_for("planning.session_page", slug=session.slug))
    form = _ask_form()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            flash(_("The page had expired. Please send your question again."), "error")
        return render_live_page(session, form, 400)
    try:
        data = parse_question({"text": form.text.data, "nickname": form.nickname.data,
                               "phone": form.phone.data, "client_id": form.client_id.data})
        # The socket's and the API's ask: written with the asks arriving meanwhile, committed
        # and its events sent before it returns.
        intake.ask(session.id, visitor_id(), data, QuestionSource.LIVE,
                   signed_in=current_visitor().signed_in)
    except InvalidInput as exc:
        for name, message in exc.errors.items():
            getattr(form, name, form.text).errors = [message]
        return render_live_page(session, form, 400)
    except live_services.QuestionRefused as exc:
        form.text.errors = [str(exc)]
        return render_live_page(session, form, 409)
    flash(_("Your question was received. It appears below under “My questions”."), "success")
    return redirect(url_for("planning.session_page", slug=session.slug) + "#mine")


# The projector view ---------------------------------------------------------------------------


def screen_strings() -> dict[str, str]:
    """Every text screen.js shows, translated for the page's language."""
    return {
        "reconnecting": _("Connection lost. Reconnecting…"),
        "reload": _("Please reload the page to join the session."),
        "reload_button": _("Reload"),
        "citizen": _("Citizen"),
        "answered": _("Answered"),
        "no_answer_yet": _("The first answer will appear here."),
        "follow_up_answer": _("Second reply"),
        "cancelled": _("This session was cancelled."),
        "starts_at": _("Starts at %(time)s"),
        "policy": _("Policy explanation"),
        "notice": _("Notice"),
    }


def screen_shown(session: LiveSession, snap: dict[str, Any]) -> dict[str, Any]:
    """What the projector shows now by the director's choice (qa_live/live/screen.py): its kind
    and item; the latest answer when the choice names nothing this page can show (screen.js
    makes the same decision when the choice changes)."""
    choice = snap["session"]["screen"]
    kind, ref = choice["kind"], choice["id"]
    if session.state == SessionState.LIVE:
        if kind == "qr":
            return {"kind": "qr", "item": None}
        items = {"question": [q for q in snap["questions"] if q["status"] == "approved"],
                 "post": snap["posts"], "photo": snap.get("photos", []),
                 "poll": snap.get("polls", [])}.get(kind, [])
        item = next((i for i in items if i["id"] == ref), None)
        if item is not None:
            return {"kind": kind, "item": item}
    return {"kind": "latest", "item": None}


@bp.get("/s/<slug>/screen")
def screen(slug: str) -> ResponseReturnValue:
    """The projector view: large type for the room's big screen, kept live like the page."""
    session = get_public_session_or_404(slug)
    visitor_id()  # the /qa socket refuses pages without the visitor cookie
    snap = snapshot(session)
    answered = [q for q in snap["questions"] if q["answers"]]
    latest = max(answered, key=lambda q: (q["answered_at"] or "", q["id"]), default=None)
    top = sort_questions([q for q in snap["questions"] if q is not latest], "votes")
    top.sort(key=lambda q: q["upvotes"], reverse=True)  # the room sees votes, not pins
    config = _socket_config(session, snap)
    config.update({"top": SCREEN_TOP, "t": screen_strings(), "screen": True,
                   **media_views.player_config(),
                   "poll_t": polls.poll_strings()})
    url = public_url("planning.session_page", slug=session.slug)
    return render_template(
        "live/screen.html",
        session=session,
        snap=snap,
        shown=screen_shown(session, snap),
        latest=latest,
        top=top[:SCREEN_TOP],
        posts=sort_posts(snap["posts"]),
        config=config,
        state_label=planning.state_label,
        local_time=local_time,
        page_url=url,
        qr=Markup(qr_svg(url)),  # noqa: S704 - segno's own SVG, no user text in it
    )
