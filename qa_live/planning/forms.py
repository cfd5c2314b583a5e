"""Forms for departments, sessions and questions sent in advance."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectChoice,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from qa_live.auth.forms import MultiCheckboxField
from qa_live.planning.models import ModerationMode
from qa_live.planning.services import DESCRIPTION_MAX, SLUG_LENGTH, TITLE_LENGTH
from qa_live.planning.streams import URL_MAX

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


class DepartmentForm(FlaskForm):
    """Create or rename a department."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    short_name = StringField(_l("Short name"), validators=[Optional(), Length(max=20)])
    submit = SubmitField(_l("Save"))


def parse_guests(text: str) -> list[tuple[str, str]]:
    """Read guests typed one per line as "name | title" (or "name title" with a comma)."""
    guests = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        for sep in ("|", "｜", ",", "，"):
            if sep in line:
                name, title = line.split(sep, 1)
                break
        else:
            name, title = line, ""
        guests.append((name.strip()[:64], title.strip()[:120]))
    return guests


class SessionForm(FlaskForm):
    """Plan or edit a session.

    The theme, introduction and address are checked by planning.services (the rules the JSON
    API shares); their errors come back next to their fields.
    """

    title = StringField(_l("Theme"), validators=[DataRequired()],
                        render_kw={"maxlength": TITLE_LENGTH[1]})
    description = TextAreaField(_l("Introduction"), validators=[Optional()],
                                render_kw={"maxlength": DESCRIPTION_MAX})
    scheduled_start = DateTimeLocalField(
        _l("Starts"), format=DATETIME_FORMATS, validators=[DataRequired()]
    )
    scheduled_end = DateTimeLocalField(
        _l("Ends"), format=DATETIME_FORMATS, validators=[DataRequired()]
    )
    departments = MultiCheckboxField(_l("Departments going online"), coerce=int, choices=[])
    hosts = MultiCheckboxField(_l("Hosts"), coerce=int, choices=[])
    answerers = MultiCheckboxField(_l("Answerers on duty"), coerce=int, choices=[])
    editors = MultiCheckboxField(_l("Text editors (type the guests' answers)"), coerce=int,
                                 choices=[])
    reviewers = MultiCheckboxField(_l("Reviewers"), coerce=int, choices=[])
    directors = MultiCheckboxField(_l("Directors (choose what the projector shows)"), coerce=int,
                                   choices=[])
    guests = TextAreaField(
        _l("Guests (one per line: name | title)"), validators=[Optional(), Length(max=2000)]
    )
    moderation_mode = RadioField(
        _l("Moderation"),
        choices=[
            SelectChoice(ModerationMode.PRE.value,
                         _l("Review each question before it is published")),
            SelectChoice(ModerationMode.OPEN.value, _l("Publish at once, moderate afterwards")),
        ],
        default=ModerationMode.PRE.value,
    )
    reviewed = BooleanField(
        _l("Reviewed: answers and host posts are published only once a reviewer approves them"))
    precollect_opens_at = DateTimeLocalField(
        _l("Questions in advance open"), format=DATETIME_FORMATS, validators=[Optional()]
    )
    precollect_closes_at = DateTimeLocalField(
        _l("Questions in advance close"), format=DATETIME_FORMATS, validators=[Optional()]
    )
    slug = StringField(_l("Address (optional)"), validators=[Optional()],
                       render_kw={"maxlength": SLUG_LENGTH[1]})
    # Checked by planning/streams.py (the API's rule too); the error comes back beside it.
    stream_url = StringField(_l("Live stream address (optional)"), validators=[Optional()],
                             render_kw={"maxlength": URL_MAX, "inputmode": "url"})
    submit = SubmitField(_l("Save"))

    def validate_departments(self, field: MultiCheckboxField) -> None:
        """A session needs at least one department going online."""
        if not field.data:
            raise ValidationError(_l("Choose at least one department."))


class CancelForm(FlaskForm):
    """Cancel a session, with the reason citizens will read."""

    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Cancel the session"))


class ReturnForm(FlaskForm):
    """Send a department's session back, saying what to change."""

    reason = TextAreaField(_l("What should the department change?"),
                           validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Send back"))


class ActionForm(FlaskForm):
    """A bare form for a one-click action (CSRF token only)."""

    submit = SubmitField()


class AdvanceQuestionForm(FlaskForm):
    """A citizen's question sent before the session."""

    text = TextAreaField(_l("Your question"), validators=[DataRequired(), Length(max=2000)])
    nickname = StringField(_l("Nickname (optional)"), validators=[Optional(), Length(max=32)])
    phone = StringField(
        _l("Mobile number for follow-up contact (optional, never published)"),
        validators=[Optional(), Length(max=20)],
    )
    client_id = HiddenField()
    submit = SubmitField(_l("Send question"))
