"""Forms for follow-ups, their closing, and the working-day calendar."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from qa_live.auth.models import User
from qa_live.followup.models import DayKind, FollowUpStatus
from qa_live.planning.models import Department

TEXT_MAX = 5000


class FollowUpForm(FlaskForm):
    """Open a follow-up, or change its department, assignee, due date, notes and status."""

    department_id = SelectField(_l("Department"), coerce=int, choices=[])
    assignee_id = SelectField(_l("Assignee"), coerce=int, choices=[])
    due_date = DateField(_l("Due date"), validators=[InputRequired()])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=TEXT_MAX)])
    status = SelectField(_l("Status"), choices=[], validators=[Optional()])
    submit = SubmitField(_l("Save"))

    def fill_choices(self, departments: list[Department], assignees: list[User],
                     allow_no_department: bool, with_status: bool) -> None:
        """Offer the departments and staff the user may choose from (0 = none)."""
        none = [SelectChoice(0, str(_l("— none —")))] if allow_no_department else []
        self.department_id.choices = none + [SelectChoice(d.id, d.name) for d in departments]
        self.assignee_id.choices = [SelectChoice(0, str(_l("— nobody yet —")))] + [
            SelectChoice(u.id, f"{u.display_name} ({'、'.join(d.name for d in u.departments)})")
            for u in assignees
        ]
        if with_status:
            self.status.choices = [
                SelectChoice(FollowUpStatus.OPEN.value, str(_l("Open"))),
                SelectChoice(FollowUpStatus.IN_PROGRESS.value, str(_l("In progress"))),
            ]
        else:
            del self.status


class CloseForm(FlaskForm):
    """Close as done: the second reply citizens will read, and the outcome for the record."""

    reply = TextAreaField(_l("Second reply (published under the question)"),
                          validators=[DataRequired(), Length(max=TEXT_MAX)])
    outcome = TextAreaField(_l("Outcome (internal)"), validators=[Optional(),
                                                                  Length(max=TEXT_MAX)])
    submit = SubmitField(_l("Close and publish the second reply"))


class ImpossibleForm(FlaskForm):
    """Close as cannot be done, with the reason."""

    reason = TextAreaField(_l("Why it cannot be done"),
                           validators=[DataRequired(), Length(max=TEXT_MAX)])
    outcome = TextAreaField(_l("Outcome (internal)"), validators=[Optional(),
                                                                  Length(max=TEXT_MAX)])
    submit = SubmitField(_l("Close as cannot be done"))


class ReplyForm(FlaskForm):
    """Reword the published second reply (the earlier wording is kept)."""

    body = TextAreaField(_l("Second reply"), validators=[DataRequired(), Length(max=TEXT_MAX)])
    submit = SubmitField(_l("Save the second reply"))


class CalendarDayForm(FlaskForm):
    """Add a public holiday or a make-up working day."""

    day = DateField(_l("Date"), validators=[InputRequired()])
    kind = RadioField(
        _l("Kind"),
        choices=[
            SelectChoice(DayKind.HOLIDAY.value, _l("Public holiday (day off)")),
            SelectChoice(DayKind.WORKDAY.value, _l("Make-up working day")),
        ],
        default=DayKind.HOLIDAY.value,
    )
    name = StringField(_l("Name"), validators=[Optional(), Length(max=40)])
    submit = SubmitField(_l("Add day"))
