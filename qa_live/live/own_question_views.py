"""The asker's edit and withdraw, over the /qa socket and as plain forms (no script needed).

The socket events (``edit``, ``withdraw``) act for the connected visitor; the forms act for the
holder of the question's private link (/q/<token>), which is proof enough, as for rating an
answer. Both call the operations in qa_live/live/own_questions.py.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField

from qa_live.core.i18n import safe_next
from qa_live.extensions import db, limiter
from qa_live.live import events, own_questions, serialize
from qa_live.live import services as live
from qa_live.live.models import Question
from qa_live.live.socket_common import int_field, ok, payload
from qa_live.live.validation import InvalidInput

bp = Blueprint("own_questions", __name__)
bp.add_app_template_global(own_questions.can_change, "can_change_question")


# Socket events (called by CitizenNamespace.on_edit / on_withdraw) ---------------------------


def socket_edit(visitor_id: str, data: Any) -> dict[str, Any]:
    """``edit`` {question_id, text}: ack {ok, question} with the question as its asker sees it."""
    data = payload(data)
    question = own_questions.check_owner(
        db.session.get(Question, int_field(data, "question_id")), visitor_id)
    own_questions.edit_own_question(question, data.get("text"))
    ack = ok(question=serialize.own_question(question, live.status_label(question)))
    events.commit_and_send()
    return ack


def socket_withdraw(visitor_id: str, data: Any) -> dict[str, Any]:
    """``withdraw`` {question_id}: ack {ok, id}."""
    data = payload(data)
    question = own_questions.check_owner(
        db.session.get(Question, int_field(data, "question_id")), visitor_id)
    question_id = own_questions.withdraw_own_question(question)
    events.commit_and_send()
    return ok(id=question_id)


# Plain forms -------------------------------------------------------------------------------


class EditQuestionForm(FlaskForm):
    """The new wording of one's own question."""

    text = TextAreaField(_l("Your question"))


def _by_token(token: str) -> Question:
    question = live.question_by_token(token)
    if question is None:
        abort(404)
    return question


def _back(question: Question, token: str) -> str:
    return safe_next(request.args.get("next"),
                     url_for("planning.question_status", token=token))


def _edit_page(question: Question, token: str, form: EditQuestionForm,
               status: int) -> ResponseReturnValue:
    return render_template("planning/edit_question.html", question=question, token=token,
                           form=form, next=_back(question, token)), status


@bp.post("/q/<token>/edit")
@limiter.limit("30 per minute")
def edit(token: str) -> ResponseReturnValue:
    """Save the new wording sent by the form; on a problem show it again with the text kept."""
    question = _by_token(token)
    form = EditQuestionForm()
    if not form.validate_on_submit():
        form.text.errors = [_("The page had expired. Please send your change again.")]
        return _edit_page(question, token, form, 400)
    try:
        own_questions.edit_own_question(question, form.text.data)
    except InvalidInput as exc:
        db.session.rollback()
        form.text.errors = list(exc.errors.values())
        return _edit_page(question, token, form, 400)
    except live.QuestionRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(_back(question, token))
    events.commit_and_send()
    flash(_("Your question was changed."), "success")
    return redirect(_back(question, token))


@bp.post("/q/<token>/withdraw")
@limiter.limit("30 per minute")
def withdraw(token: str) -> ResponseReturnValue:
    """Withdraw the question; go back to its session's page (its own page is gone with it)."""
    question = _by_token(token)
    slug = question.session.slug
    if not FlaskForm().validate_on_submit():
        flash(_("The page had expired. Please try again."), "error")
        return redirect(_back(question, token))
    try:
        own_questions.withdraw_own_question(question)
    except live.QuestionRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(_back(question, token))
    events.commit_and_send()
    flash(_("Your question was withdrawn."), "success")
    back = request.args.get("next", "")
    if back.startswith(f"/q/{token}"):
        back = ""
    return redirect(safe_next(back, url_for("planning.session_page", slug=slug)))
