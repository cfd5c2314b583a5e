"""The office's page for the sensitive-word list: /office/sensitive-words/.

Thin: each form calls one operation of wordlist.py (which writes the audit entry and moves the
list version), then commits and redirects with what happened.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, FileSize
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from qa_live.auth.access import role_required
from qa_live.auth.models import Role
from qa_live.core.uploads import upload_limit
from qa_live.extensions import db
from qa_live.live import wordlist

bp = Blueprint("wordlist", __name__, url_prefix="/office/sensitive-words")

#: The largest list file accepted by the import form.
IMPORT_MAX_BYTES = 1024 * 1024  # as config.py's WORDLIST_MAX_BYTES, the edge's limit for this route


class AddWordsForm(FlaskForm):
    """Words to add, one a line."""

    words = TextAreaField(_l("Words to add, one a line"),
                          validators=[DataRequired(), Length(max=20_000)])
    submit = SubmitField(_l("Add"))


class ImportWordsForm(FlaskForm):
    """A list file to import (UTF-8 text, one word a line, '#' comments)."""

    file = FileField(_l("List file (UTF-8 text, one word a line)"),
                     validators=[FileRequired(), FileSize(IMPORT_MAX_BYTES)])
    submit = SubmitField(_l("Import"))


class RemoveWordForm(FlaskForm):
    """A remove button (CSRF token only)."""

    submit = SubmitField(_l("Delete"))


def _report(outcome: wordlist.Outcome, done: Callable[[int], str]) -> None:
    if outcome.changed:
        flash(done(len(outcome.changed)), "success")
    for word, why in outcome.skipped[:20]:
        flash(_("“%(word)s” left out: %(why)s", word=word, why=why), "error")
    if len(outcome.skipped) > 20:
        flash(_("%(n)d more left out.", n=len(outcome.skipped) - 20), "error")


def _page(add_form: AddWordsForm, import_form: ImportWordsForm,
          status: int = 200) -> ResponseReturnValue:
    search = request.args.get("q", "")
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    listing = wordlist.list_words(search, page)
    return render_template("office/sensitive_words.html", listing=listing, search=search,
                           add_form=add_form, import_form=import_form,
                           remove_form=RemoveWordForm()), status


@bp.get("/")
@role_required(Role.OFFICE)
def index() -> ResponseReturnValue:
    """The list, newest first, with search, pages and the add and import forms."""
    return _page(AddWordsForm(), ImportWordsForm())


@bp.post("/add")
@role_required(Role.OFFICE)
def add() -> ResponseReturnValue:
    """Add the words typed, one a line."""
    form = AddWordsForm()
    if not form.validate_on_submit():
        return _page(form, ImportWordsForm(), 400)
    outcome = wordlist.add_words(wordlist.parse_lines(form.words.data or ""),
                                 current_user._get_current_object())
    db.session.commit()
    _report(outcome, lambda n: ngettext("%(num)d word added.", "%(num)d words added.", n))
    return redirect(url_for("wordlist.index"))


@bp.post("/import")
@role_required(Role.OFFICE)
@upload_limit("WORDLIST_MAX_BYTES")
def import_file() -> ResponseReturnValue:
    """Add the words of an uploaded list file."""
    form = ImportWordsForm()
    if not form.validate_on_submit():
        return _page(AddWordsForm(), form, 400)
    upload = form.file.data
    try:
        text = upload.read(IMPORT_MAX_BYTES + 1).decode("utf-8-sig")
    except UnicodeDecodeError:
        form.file.errors = [_("The file must be UTF-8 text.")]
        return _page(AddWordsForm(), form, 400)
    outcome = wordlist.import_text(text, current_user._get_current_object(),
                                   filename=upload.filename or "")
    db.session.commit()
    _report(outcome, lambda n: ngettext("%(num)d word imported.", "%(num)d words imported.",
                                        n))
    if not outcome.changed and not outcome.skipped:
        flash(_("The file held no words."), "error")
    return redirect(url_for("wordlist.index"))


@bp.post("/<int:word_id>/remove")
@role_required(Role.OFFICE)
def remove(word_id: int) -> ResponseReturnValue:
    """Take one word off the list."""
    if not RemoveWordForm().validate_on_submit():
        abort(400)
    outcome = wordlist.remove_by_id(word_id, current_user._get_current_object())
    db.session.commit()
    if not outcome.changed:
        abort(404)
    flash(_("“%(word)s” removed.", word=outcome.changed[0]), "success")
    return redirect(url_for("wordlist.index", q=request.args.get("q") or None))


@bp.get("/export")
@role_required(Role.OFFICE)
def export() -> ResponseReturnValue:
    """The whole list as a text file that the import reads back (the download is audited)."""
    text = wordlist.export_text(current_user._get_current_object())
    db.session.commit()
    return Response(text, mimetype="text/plain; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="sensitive_words.txt"'})
