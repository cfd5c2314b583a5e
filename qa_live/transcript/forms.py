"""Forms of the archive search, the staff's corrections and the asker's rating."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SearchField,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from qa_live.live.models import RatingValue
from qa_live.transcript.services import QUERY_MAX


class ArchiveSearchForm(FlaskForm):
    """The archive's filters and search box, read from the query string (a GET form)."""

    class Meta:
        """No CSRF token: a search changes nothing."""

        csrf = False  # and the address of a search can be shared

    q = SearchField(_l("Search questions and answers"),
                    validators=[Optional(), Length(max=QUERY_MAX)])
    year = SelectField(_l("Year"), choices=[], default="",
                       validate_choice=True, coerce=str)
    department = SelectField(_l("Department"), choices=[], default="",
                             validate_choice=True, coerce=str)
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=100000)])
    submit = SubmitField(_l("Search"))


class CorrectionForm(FlaskForm):
    """A corrected wording of a question, an answer or a host post."""

    text = TextAreaField(_l("Corrected wording"), validators=[DataRequired()])
    submit = SubmitField(_l("Save correction"))


def rating_choices() -> list[tuple[str, str]]:
    """The three ratings, in the order citizens read them."""
    from qa_live.transcript.ratings import value_label

    return [(v.value, value_label(v)) for v in RatingValue]


class RatingForm(FlaskForm):
    """The asker's rating of one answer (use a prefix per answer on a page with several)."""

    value = RadioField(_l("How satisfied are you with this answer?"),
                       validators=[InputRequired(message=_l("Choose a rating."))])
    submit = SubmitField(_l("Save my rating"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.value.choices = rating_choices()


class OralAnswerForm(FlaskForm):
    """An answer given orally in the session, recorded afterwards (补录)."""

    body = TextAreaField(_l("The answer as it was given"), validators=[DataRequired()])
    given_at = DateTimeLocalField(_l("Given at (Beijing time)"), format=["%Y-%m-%dT%H:%M",
                                                                         "%Y-%m-%d %H:%M"],
                                  validators=[InputRequired()])
    department = SelectField(_l("Answering department"), coerce=str, validate_choice=True)
    submit = SubmitField(_l("Record the answer"))
