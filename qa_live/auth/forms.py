"""Forms for login and staff accounts."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from qa_live.auth.models import Role


class MultiCheckboxField(SelectMultipleField):
    """A set of checkboxes: easier than a multi-select on a phone."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def role_choices() -> list[SelectChoice]:
    """Roles with their translated names."""
    return [
        SelectChoice(Role.OFFICE.value, str(_l("Office (plans sessions, reads statistics)"))),
        SelectChoice(Role.HOST.value, str(_l("Host (runs sessions, moderates)"))),
        SelectChoice(Role.ANSWERER.value, str(_l("Answerer (answers questions)"))),
        SelectChoice(Role.EDITOR.value,
                     str(_l("Text editor (types guests' answers and publishes them in their "
                            "name)"))),
        SelectChoice(Role.REVIEWER.value,
                     str(_l("Reviewer (approves answers and posts of reviewed sessions)"))),
        SelectChoice(Role.DIRECTOR.value, str(_l("Director (chooses what the projector shows)"))),
        SelectChoice(Role.PLANNER.value,
                     str(_l("Department planner (drafts their department's sessions for "
                            "approval)"))),
    ]


class LoginForm(FlaskForm):
    """Staff login."""

    login = StringField(_l("Login"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Log in"))


def _password_rules(form: FlaskForm, field: PasswordField) -> None:
    from qa_live.auth.services import password_problem

    problem = password_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


class UserForm(FlaskForm):
    """Create or edit a staff account."""

    login = StringField(
        _l("Login"),
        validators=[
            DataRequired(),
            Length(min=2, max=64),
            Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Letters, digits, '.', '_' and '-' only.")),
        ],
    )
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Initial password"), validators=[_password_rules])
    roles = MultiCheckboxField(_l("Roles"), choices=[])
    departments = MultiCheckboxField(_l("Departments"), coerce=int, choices=[])
    active = BooleanField(_l("Active"), default=True)
    submit = SubmitField(_l("Save"))

    def validate_roles(self, field: MultiCheckboxField) -> None:
        """A staff member needs at least one role."""
        if not field.data:
            raise ValidationError(_l("Choose at least one role."))


class EditUserForm(UserForm):
    """Edit an account: the login stays, the password is reset separately."""

    login = None
    password = None


class PasswordResetForm(FlaskForm):
    """Set a new password for a staff account."""

    password = PasswordField(_l("New password"), validators=[DataRequired(), _password_rules])
    submit = SubmitField(_l("Reset password"))


class TokenForm(FlaskForm):
    """Name a new personal API token."""

    name = StringField(_l("What the token is for"), validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("Create token"))


class TokenRevokeForm(FlaskForm):
    """Revoke a token (a button)."""

    submit = SubmitField(_l("Revoke"))
