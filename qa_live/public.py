"""The public pages at the top of the layers: the year's sessions, a session's page, status links.

A session's address, /s/<slug>, shows what its state calls for: the announcement with asking in
advance (planning), the live page (live.views) or the transcript (transcript.views); this module
dispatches, so no package below it needs another's pages. The blueprint keeps the name
"planning", which every template's url_for("planning.…") uses.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine

from qa_live.auth.citizens import sign_in_state
from qa_live.core import fast_pages, shared_pages
from qa_live.core.display import elder_mode
from qa_live.core.i18n import select_locale
from qa_live.core.security import allow_media_from
from qa_live.core.timeutil import local_year, utcnow
from qa_live.core.urls import public_url
from qa_live.core.visitor import COOKIE, current_visitor, visitor_id
from qa_live.extensions import db, limiter
from qa_live.live import intake
from qa_live.live import services as live_services
from qa_live.live.models import Question, QuestionSource
from qa_live.live.snapshots import session_head
from qa_live.live.socket_common import EventError
from qa_live.live.validation import InvalidInput, parse_question
from qa_live.live.views import render_live_page
from qa_live.planning import services
from qa_live.planning.access import get_public_session_or_404
from qa_live.planning.forms import AdvanceQuestionForm
from qa_live.planning.models import LiveSession, SessionState
from qa_live.planning.qr import qr_svg
from qa_live.transcript import ratings
from qa_live.transcript.forms import RatingForm
from qa_live.transcript.views import render_transcript
from qa_live.votes import ballots
from qa_live.votes import payloads as vote_payloads
from qa_live.votes import services as vote_services

bp = Blueprint("planning", __name__)


@bp.get("/")
def home() -> ResponseReturnValue:
    """The year's sessions: live now, coming up, and held."""
    now = utcnow()
    years = services.plan_years()
    try:
        year = int(request.args.get("year", local_year(now)))
    except ValueError:
        abort(404)
    sessions = services.sessions_of_year(year, public_only=True)
    live = [s for s in sessions if s.state == SessionState.LIVE]
    upcoming = [s for s in sessions if s.state == SessionState.ANNOUNCED]
    past = [s for s in sessions if s.state in (SessionState.ENDED, SessionState.ARCHIVED)]
    cancelled = [s for s in sessions if s.state == SessionState.CANCELLED]
    return render_template(
        "planning/home.html", year=year, years=years, live=live, upcoming=upcoming,
        past=list(reversed(past)), cancelled=cancelled, now=now,
    )


def _advance_form(session: LiveSession) -> AdvanceQuestionForm:
    form = AdvanceQuestionForm()
    if not form.client_id.data:
        form.client_id.data = str(uuid.uuid4())
    return form


@bp.get("/s/<slug>")
def session_page(slug: str) -> ResponseReturnValue:
    """A session's public page: theme, departments, time, guests, QR code, ask in advance."""
    shared = _shared_page(slug)
    if shared is not None:
        return shared
    session = get_public_session_or_404(slug)
    if session.state == SessionState.LIVE:
        return render_live_page(session)
    if session.state in (SessionState.ENDED, SessionState.ARCHIVED):
        return render_transcript(session)
    return _render_session(session, _advance_form(session))


# The live page and the transcript for a new visitor, rendered once per change --------------
#
# A visitor without a cookie (no visitor id, no staff or Flask session) sees what every other
# new visitor sees: the page is rendered and compressed once (qa_live/core/shared_pages.py) and
# kept by the session's sequence number, read with one small query on every request. Every
# change a page shows that is published takes the next sequence number (answers, posts,
# photos, polls, the session's facts, a department's rename: live/session_facts.py), so every
# worker renders anew from the next request on; what changes without one (counters, upvotes,
# live poll results, a follow-up's badge) is at most PUBLIC_PAGE_CACHE_S old, as the counters a
# joining page gets are. Per visitor, only headers (the cookies) and the holes (a CSRF token,
# the ask form's client id) are made.
SHARED_STATES = (SessionState.LIVE, SessionState.ENDED, SessionState.ARCHIVED)


def _new_visitor() -> bool:
    """A visitor whose page is the one every new visitor gets: no cookie that changes it."""
    config = current_app.config
    cookies = request.cookies
    if (COOKIE in cookies or config["SESSION_COOKIE_NAME"] in cookies
            or config.get("REMEMBER_COOKIE_NAME", "remember_token") in cookies):
        return False
    args = request.args
    return not args or (list(args) == ["lang"] and args["lang"] in config["LANGUAGES"])


def _shared_page(slug: str) -> Response | None:
    """The shared page of a live or held session for a new visitor; None: render as usual."""
    max_age = current_app.config["PUBLIC_PAGE_CACHE_S"]
    if max_age <= 0 or not _new_visitor():
        return None
    try:
        head = session_head(slug)
    except EventError:
        return None  # unknown or a draft: the usual path answers 404
    if head.state not in SHARED_STATES:
        return None
    # The address too: without PUBLIC_BASE_URL, the page's share link and QR code name the
    # host it was asked for, and one asked for with a forged Host must not be shown to others.
    key = (request.host_url, request.full_path, head.id, head.last_seq, head.state.value,
           select_locale(), elder_mode())

    def render() -> tuple[str, int]:
        session = get_public_session_or_404(slug)
        page = (render_live_page(session) if session.state == SessionState.LIVE
                else render_transcript(session))
        body, status, _headers = cast(tuple[str, int, dict[str, str]], page)
        return body, status

    page = shared_pages.of_app().get_or_build(key, max_age, render)
    for origin in page.media_origins:  # the player's, as rendering the page allowed it
        allow_media_from(origin)
    encoding = page.encoding_for(request.headers.get("Accept-Encoding", ""))
    fast_pages.served(request.environ, fast_pages.Served(
        _version(head.id, head.state, head.last_seq), page, encoding))
    visitor_id()  # the signed cookie the /qa socket needs, as the rendered page sets it
    response = Response(page.body(shared_pages.fills_for(page), encoding), page.status,
                        mimetype="text/html")
    response.headers["Cache-Control"] = "private, no-store"  # as the page says otherwise
    if encoding is not None:
        response.headers["Content-Encoding"] = encoding
    response.set_etag(page.etag, weak=True)
    return response


# The same page answered in front of Flask (qa_live/core/fast_pages.py, installed by wsgi.py):
# for an address it learned from _shared_page, while the session's version is the same.
_VERSION = select(LiveSession.id, LiveSession.state, LiveSession.last_seq).where(
    LiveSession.slug == bindparam("slug"))
_VERSION_ROW = fast_pages.OneRow(_VERSION)
_ENGINE = "qa_live.public.engine"


def _version(session_id: int, state: SessionState, seq: int) -> tuple[int, str, int] | None:
    """What a shared page of a session is kept by, besides the request; None: not shared."""
    return (session_id, state.value, seq) if state in SHARED_STATES else None


def _current_version(app: Flask, slug: str) -> tuple[int, str, int] | None:
    """The version of /s/<slug>'s shared page now, with one small query; None: ask Flask."""
    engine = app.extensions.get(_ENGINE)
    if engine is None:
        with app.app_context():
            engine = app.extensions[_ENGINE] = cast(Engine, db.engine)
    head = _VERSION_ROW.run(engine, slug=slug)  # None too when the database is away: Flask
    return None if head is None else _version(*head)


@bp.record_once
def _answer_in_front(state: Any) -> None:
    fast_pages.route(state.app, r"/s/([a-z0-9-]{1,64})", _current_version)


def _render_session(session: LiveSession, form: AdvanceQuestionForm, status: int = 200):
    now = utcnow()
    url = public_url("planning.session_page", slug=session.slug)
    mine = live_services.questions_of_visitor(session, visitor_id())
    return render_template(
        "planning/session.html",
        session=session,
        form=form,
        precollect_open=session.precollect_open(now),
        now=now,
        page_url=url,
        qr=Markup(qr_svg(url)),  # noqa: S704 - segno's own SVG, no user text in it
        my_questions=mine,
        status_label=live_services.status_label,
        theme_vote=_theme_vote(session, now),
        citizen=sign_in_state(),
    ), status


def _theme_vote(session: LiveSession, now: datetime) -> dict[str, Any] | None:
    """The session's theme vote, as its page shows it (with the visitor's choice), if any."""
    poll = vote_services.theme_vote_of(session)
    if poll is None:
        return None
    mine = ballots.choices_of([poll.id], visitor_id()).get(poll.id, [])
    return {"vote": vote_payloads.vote_payload(poll, now, mine=mine),
            "is_open": poll.is_open(now), "poll": poll}


def _advance_limit() -> str:
    return current_app.config["ADVANCE_QUESTION_RATE_LIMIT"]


@bp.post("/s/<slug>/ask")
@limiter.limit(_advance_limit)
def ask_in_advance(slug: str) -> ResponseReturnValue:
    """Take a question sent before the session; answer with its private status link."""
    session = get_public_session_or_404(slug)
    form = _advance_form(session)
    if not form.validate_on_submit():
        return _render_session(session, form, 400)
    try:
        data = parse_question(
            {"text": form.text.data, "nickname": form.nickname.data,
             "phone": form.phone.data, "client_id": form.client_id.data}
        )
        question, _created = intake.submit_question(
            session, visitor_id(), data, QuestionSource.ADVANCE,
            signed_in=current_visitor().signed_in,
        )
    except InvalidInput as exc:
        for name, message in exc.errors.items():
            getattr(form, name, form.text).errors = [message]
        return _render_session(session, form, 400)
    except live_services.QuestionRefused as exc:
        flash(str(exc), "error")
        return _render_session(session, form, 409)
    db.session.commit()
    flash(_("Your question was received. Keep this page's address to follow it."), "success")
    return redirect(url_for("planning.question_status", token=question.access_token))


def _render_question_status(question: Question, token: str, failed: RatingForm | None = None,
                            failed_answer: int | None = None,
                            status: int = 200) -> ResponseReturnValue:
    given = ratings.ratings_of(question)
    forms = {}
    for answer in question.answers:
        if failed is not None and answer.id == failed_answer:
            forms[answer.id] = failed
            continue
        form = RatingForm(formdata=None, prefix=f"a{answer.id}")
        if answer.id in given:
            form.value.data = given[answer.id].value.value
        forms[answer.id] = form
    response = Response(render_template(
        "planning/question_status.html", question=question, session=question.session,
        status_label=live_services.status_label(question),
        page_url=public_url("planning.question_status", token=token),
        answers=sorted(question.answers, key=lambda a: (a.created_at, a.id)),
        ratings=given, rating_forms=forms, rating_label=ratings.value_label,
    ), status=status)
    # The address is the key to the question: keep it out of referrers and shared caches.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/q/<token>")
def question_status(token: str) -> ResponseReturnValue:
    """A citizen's private page for one question: its status, its answers, and rating them."""
    question = live_services.question_by_token(token)
    if question is None:
        abort(404)
    return _render_question_status(question, token)


@bp.post("/q/<token>/answers/<int:answer_id>/rating")
def rate_answer(token: str, answer_id: int) -> ResponseReturnValue:
    """The asker rates an answer (满意 / 基本满意 / 不满意): holding the private link is proof."""
    question = live_services.question_by_token(token)
    if question is None:
        abort(404)
    answer = next((a for a in question.answers if a.id == answer_id), None)
    if answer is None:
        abort(404)
    form = RatingForm(prefix=f"a{answer.id}")
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            flash(_("The page had expired. Please choose your rating again."), "error")
        return _render_question_status(question, token, form, answer.id, 400)
    _rating, created = ratings.rate_answer(question, answer,
                                           ratings.parse_value(form.value.data))
    db.session.commit()
    flash(_("Thank you: your rating was saved.") if created
          else _("Your rating was changed."), "success")
    return redirect(url_for("planning.question_status", token=token) + f"#a-{answer.id}")


@bp.get("/s/<slug>/qr.svg")
def session_qr(slug: str) -> ResponseReturnValue:
    """The session page's QR code as an SVG file, for posters and slides."""
    session = get_public_session_or_404(slug)
    svg = qr_svg(public_url("planning.session_page", slug=session.slug))
    return Response(svg, mimetype="image/svg+xml")
