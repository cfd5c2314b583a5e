"""The office's forms for public votes (the citizens' ballot is a plain form read by views.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    IntegerField,
    RadioField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, NumberRange, Optional

from qa_live.auth.forms import MultiCheckboxField
from qa_live.planning.forms import DATETIME_FORMATS
from qa_live.votes.ballots import QUESTION_LENGTH


class DepartmentsVoteForm(FlaskForm):
    """Prepare the vote on which departments go online next year."""

    year = IntegerField(_l("Year planned"), validators=[DataRequired()])
    question = StringField(_l("Question"), validators=[DataRequired()],
                           render_kw={"maxlength": QUESTION_LENGTH[1]})
    description = TextAreaField(_l("Explanation (optional)"), validators=[Optional()],
                                render_kw={"maxlength": 2000})
    max_choices = IntegerField(_l("Departments each person may choose"), default=3,
                               validators=[DataRequired(), NumberRange(min=1, max=60)])
    departments = MultiCheckboxField(_l("Candidates (none ticked: every active department)"),
                                     coerce=int, choices=[])
    closes_at = DateTimeLocalField(_l("Closes by itself at (optional)"),
                                   format=DATETIME_FORMATS, validators=[Optional()])
    submit = SubmitField(_l("Prepare the vote"))


class ThemeVoteForm(FlaskForm):
    """A department's candidate themes for a session."""

    question = StringField(_l("Question"), validators=[DataRequired()],
                           render_kw={"maxlength": QUESTION_LENGTH[1]})
    themes = TextAreaField(_l("Candidate themes (one per line, 2 to 10)"),
                           validators=[DataRequired()], render_kw={"rows": 6})
    description = TextAreaField(_l("Explanation (optional)"), validators=[Optional()],
                                render_kw={"maxlength": 2000})
    closes_at = DateTimeLocalField(_l("Closes at (optional; at the latest when the session "
                                      "starts)"), format=DATETIME_FORMATS,
                                   validators=[Optional()])
    submit = SubmitField(_l("Propose the themes"))


class DraftPlanForm(FlaskForm):
    """Draft next year's sessions for the departments voted to the top."""

    top = IntegerField(_l("Sessions to draft"), default=5,
                       validators=[DataRequired(), NumberRange(min=1, max=12)])
    submit = SubmitField(_l("Draft the plan from the results"))


class ApplyThemeForm(FlaskForm):
    """Make a theme with the most votes the session's title."""

    # Needed only after a tie; the operation checks the choice is one of the leaders.
    option = RadioField(_l("Theme"), coerce=int, choices=[], validate_choice=False,
                        validators=[Optional()])
    submit = SubmitField(_l("Use as the session's theme"))
