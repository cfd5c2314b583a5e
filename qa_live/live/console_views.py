"""The staff moderation console: the page shell; static/js/console.js fills it over /moderation.

The page carries no question data: the console gets everything from the socket's ``join``
acknowledgement, so a reconnect rebuilds it exactly as the first load does.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from qa_live.auth.access import staff_required
from qa_live.auth.models import Role
from qa_live.extensions import db
from qa_live.live import access, counters
from qa_live.live.models import RejectReason
from qa_live.live.notes import NOTE_MAX
from qa_live.planning import services as planning
from qa_live.planning.models import LiveSession, SessionState

bp = Blueprint("console", __name__, url_prefix="/console")


def reject_reason_labels() -> dict[str, str]:
    """The reasons for rejecting a question, as staff read them on the buttons."""
    labels = {
        RejectReason.SPAM: _("Spam or advertising"),
        RejectReason.OFF_TOPIC: _("Off topic"),
        RejectReason.ABUSIVE: _("Abusive"),
        RejectReason.DUPLICATE: _("Duplicate"),
        RejectReason.PERSONAL_INFO: _("Personal information"),
    }
    return {reason.value: labels[reason] for reason in RejectReason}


def state_labels() -> dict[str, str]:
    """Every session state's translated name, for the badge the script keeps current."""
    return {state.value: planning.state_label(state) for state in SessionState}


def console_strings() -> dict[str, str]:
    """Every text the console script shows, translated for the page's language.

    Placeholders stay as ``%(name)s``; the script fills them in.
    """
    return {
        # connection
        "connecting": _("Connecting…"),
        "reconnecting": _("Connection lost. Reconnecting…"),
        "reconnected": _("Reconnected. The queues were reloaded."),
        "login_ended": _("Your login has ended. Log in again to continue."),
        "log_in": _("Log in"),
        "retry": _("Try again"),
        "join_failed": _("Could not open the console: %(message)s"),
        "not_connected": _("Not connected. Wait for the connection to come back."),
        "no_reply": _("The server did not answer. Check the connection and try again."),
        "failed": _("That did not work. Please try again."),
        "queue_down": _("The message queue (Redis) is unreachable since %(since)s: changes "
                        "made through other worker processes may not show here. Citizens' "
                        "pages catch up by themselves."),
        "queue_back": _("The message queue is back. The queues were reloaded."),
        # session
        "session_closed": _("The session is not open: questions can no longer be moderated "
                            "or answered here."),
        "session_draft": _("The session is still a draft: questions come in once it is "
                           "announced."),
        "session_cancelled": _("The session was cancelled."),
        "started": _("The session is live."),
        "ended": _("The session has ended."),
        # presence
        "you": _("you"),
        "nobody_else": _("Only you"),
        # counters
        "minutes_seconds": _("%(m)d min %(s)d s"),
        "seconds": _("%(s)d s"),
        # queues
        "empty_pending": _("No questions are waiting for review."),
        "empty_published": _("Every published question has an answer."),
        "empty_answered": _("No answers yet."),
        "empty_rejected": _("No rejected questions."),
        "no_match": _("No question matches the filter."),
        "new_in_tab": _("new"),
        "new_question": _("New question: No. %(id)s"),
        # question card
        "question_no": _("No. %(id)s"),
        "citizen": _("Citizen"),
        "advance": _("In advance"),
        "pinned": _("Pinned"),
        "follow_up": _("Offline follow-up"),
        "flagged": _("Sensitive words: %(words)s"),
        "votes": _("%(n)d votes"),
        "asked_at": _("asked %(time)s"),
        "phone": _("phone %(phone)s"),
        "reveal_phone": _("Show the number (logged)"),
        "no_department": _("No department"),
        "edited": _("Edited. The citizen wrote:"),
        "claimed_by": _("%(name)s is answering (until %(time)s)"),
        "claimed_by_you": _("You are answering (until %(time)s)"),
        "taken_over": _("%(by)s took this question over from %(from)s at %(time)s"),
        "taken_from_you": _("%(name)s took this question over from you."),
        "rejected_because": _("Rejected: %(reason)s"),
        "merged_into": _("Merged into No. %(id)s"),
        "awaiting_review": _("Waiting for the host's review."),
        "answer_by": _("%(department)s · %(time)s"),
        "answer_edited": _("edited"),
        "follow_up_answer": _("Second reply"),
        "flagged_nickname": _("Sensitive words in the nickname: %(words)s"),
        "on_screen": _("On the projector"),
        "note_by": _("Internal note by %(name)s, %(time)s (staff only)"),
        # actions
        "approve": _("Approve"),
        "approve_edited": _("Approve this wording"),
        "restore": _("Publish after all"),
        "reject": _("Reject"),
        "reject_why": _("Why is it rejected?"),
        "merge": _("Merge"),
        "merge_into": _("Merge into"),
        "merge_choose": _("Choose the question it repeats"),
        "merge_none": _("There is no other question to merge into."),
        "edit": _("Edit text"),
        "save_text": _("Save text"),
        "pin": _("Pin"),
        "unpin": _("Unpin"),
        "assign": _("Department"),
        "assign_to": _("Hand to department"),
        "assign_save": _("Hand over"),
        "answer": _("Answer"),
        "add_answer": _("Add an answer"),
        "answer_label": _("Answer to No. %(id)s"),
        "publish_answer": _("Publish answer"),
        "edit_answer": _("Edit answer"),
        "save_answer": _("Save answer"),
        "claim": _("I'll answer"),
        "release": _("Release"),
        "take_over": _("Take over from %(name)s"),
        "take_over_confirm": _("%(name)s is answering this question (until %(time)s). Take it "
                               "over and answer it yourself? They will see that you did."),
        "take_over_lapsed": _("Nobody is answering this question any more: take it and answer."),
        "take_over_yes": _("Take over and answer"),
        "reject_claimed": _("%(name)s is answering this question; rejecting it stops them."),
        "follow_up_on": _("Needs follow-up"),
        "follow_up_off": _("No follow-up needed"),
        "cancel": _("Cancel"),
        "show_on_screen": _("Show on projector"),
        "stop_screen": _("Take off projector"),
        "clear_nickname": _("Clear nickname"),
        "add_note": _("Note"),
        "edit_note": _("Edit note"),
        "note_label": _("Internal note on No. %(id)s"),
        "note_hint": _("Only staff see notes; leave it empty to remove the note."),
        "save_note": _("Save note"),
        # bulk actions
        "select_question": _("Select No. %(id)s"),
        "bulk_selected": _("%(n)d selected"),
        "bulk_done": _("%(done)d done, %(failed)d not possible."),
        # answered before
        "similar_title": _("Answered before"),
        "similar_loading": _("Looking for similar answered questions…"),
        "similar_none": _("No similar question was answered before."),
        "similar_this_session": _("This session"),
        "similar_from": _("%(title)s, %(time)s"),
        "similar_open": _("Open"),
        "question_text": _("Question text"),
        "answer_text": _("Answer"),
        # posts
        "policy": _("Policy explanation"),
        "notice": _("Notice"),
        "no_posts": _("No posts yet."),
        "edit_post": _("Edit"),
        "remove": _("Remove"),
        "remove_confirm": _("Remove this post for everyone?"),
        "yes_remove": _("Yes, remove"),
        "save": _("Save"),
        "post_text": _("Post text"),
        "posted": _("Published."),
        # the studio: guests' answers, review, projector (static/js/studio.js)
        "guest_said": _("%(name)s %(title)s"),
        "typed_by": _("typed by %(name)s"),
        "in_the_name_of": _("In the name of"),
        "own_name": _("My department (in my own name)"),
        "choose_guest": _("Choose the guest who answered"),
        "send_for_review": _("Send for review"),
        "sent_for_review": _("Sent for review: it is published once a reviewer approves it."),
        "review_waiting": _("An answer by %(name)s is waiting for review."),
        "review_returned": _("An answer by %(name)s was sent back: %(reason)s"),
        **studio_strings(),
    }


def studio_strings() -> dict[str, str]:
    """The texts of the studio's panels: the review queue and the projector's choice."""
    return {
        "review_none": _("Nothing is waiting for review."),
        "review_hint_reviewer": _("Approve to publish; edit first if needed, or send it back "
                                  "with a reason."),
        "review_hint_author": _("What you send waits here until a reviewer approves it."),
        "review_state_pending": _("Waiting for review"),
        "review_state_returned": _("Sent back: %(reason)s"),
        "review_by": _("by %(name)s, %(time)s"),
        "review_for_question": _("Answer to No. %(id)s"),
        "review_guest": _("In the name of %(name)s %(title)s"),
        "review_post_kind": _("Host post (%(kind)s)"),
        "review_edited_from": _("Changed by the reviewer. Sent as:"),
        "review_approve": _("Approve and publish"),
        "review_edit": _("Edit and approve"),
        "review_return": _("Send back"),
        "review_reason": _("Why is it sent back?"),
        "review_resubmit": _("Change and send again"),
        "review_text": _("Text"),
        "review_own": _("Someone else reviews what you wrote."),
        "screen_now": _("On the projector: %(what)s"),
        "screen_latest": _("the latest answer"),
        "screen_qr": _("the QR code to ask from a phone"),
        "screen_question": _("question No. %(id)s"),
        "screen_post": _("a host post: %(text)s"),
        "screen_other": _("%(kind)s No. %(id)s"),
        "screen_photo": _("a photo: %(text)s"),
        "screen_poll": _("a poll's results: %(text)s"),
        "screen_photo_option": _("No. %(id)s %(text)s"),
        "screen_poll_option": _("No. %(id)s %(text)s"),
    }


def console_config(session: LiveSession) -> dict[str, Any]:
    """What console.js needs before the socket answers: ids, labels and where to connect."""
    return {
        "session_id": session.id,
        "namespace": "/moderation",
        "socket_path": "/socket.io",
        "login_url": url_for("auth.login", next=url_for("console.console_page",
                                                          slug=session.slug)),
        "timezone": current_app.config["QA_LIVE_TIMEZONE"],
        "ack_timeout_ms": 10000,
        "answer_max": current_app.config["ANSWER_MAX_LENGTH"],
        "post_max": current_app.config["POST_MAX_LENGTH"],
        "question_max": current_app.config["QUESTION_MAX_LENGTH"],
        "note_max": NOTE_MAX,
        "caption_max": current_app.config["CAPTION_MAX_LENGTH"],
        "reasons": reject_reason_labels(),
        "states": state_labels(),
        "t": console_strings(),
    }


def get_console_session_or_404(slug: str) -> LiveSession:
    """The session behind a console address, if the current user may open its console."""
    session = db.session.scalar(select(LiveSession).where(LiveSession.slug == slug))
    if session is None:
        abort(404)
    if not access.can_open_console(current_user, session):
        abort(403)
    return session


@bp.get("/<slug>")
@staff_required
def console_page(slug: str) -> ResponseReturnValue:
    """The moderation console of one session, for the staff who may open it."""
    session = get_console_session_or_404(slug)
    return render_template(
        "console/console.html",
        session=session,
        can_moderate=access.can_moderate(current_user, session),
        state_label=planning.state_label,
        config=console_config(session),
    )


@bp.app_template_global()
def console_url(session: LiveSession) -> str | None:
    """The console's address for templates, when the current user may open it; else None."""
    if not current_user.is_authenticated or not access.can_open_console(current_user, session):
        return None
    return url_for("console.console_page", slug=session.slug)


@bp.app_template_global()
def questions_received(sessions: list[LiveSession]) -> dict[int, int]:
    """Questions each session received, by session id, for the office's planning pages."""
    return counters.questions_received([s.id for s in sessions])


@bp.app_template_global()
def session_state_label(session: LiveSession) -> str:
    """A session's state as staff read it, for templates that list consoles."""
    return planning.state_label(session.state)


@bp.app_template_global()
def console_sessions(limit: int = 12) -> list[LiveSession]:
    """Sessions live now or coming whose console the current user may open, soonest first."""
    if not current_user.is_authenticated:
        return []
    states = [SessionState.LIVE, SessionState.ANNOUNCED]
    if current_user.has_role(Role.OFFICE, Role.HOST):
        states.append(SessionState.DRAFT)
    rows = db.session.scalars(
        select(LiveSession).where(LiveSession.state.in_(states))
        .order_by(LiveSession.scheduled_start, LiveSession.id)
    )
    return [s for s in rows if access.can_open_console(current_user, s)][:limit]
