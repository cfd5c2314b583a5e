"""Validation of what citizens send, shared by the forms, the JSON API and the socket events."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")


@dataclass
class QuestionInput:
    """A question payload after validation."""

    text: str
    nickname: str
    phone: str | None
    client_id: str


class InvalidInput(ValueError):
    """Bad input; `errors` maps each field to a message for the citizen."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def clean_text(value: object) -> str:
    """Strip surrounding space and normalise line ends; the text is kept otherwise."""
    if not isinstance(value, str):
        return ""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def text_problem(text: str) -> str | None:
    """Say what is wrong with a question's text, or None."""
    low = current_app.config["QUESTION_MIN_LENGTH"]
    high = current_app.config["QUESTION_MAX_LENGTH"]
    if not text:
        return _("Please write your question.")
    if len(text) < low:
        return _("A question needs at least %(n)d characters.", n=low)
    if len(text) > high:
        return _("A question may have at most %(n)d characters (this one has %(len)d).",
                 n=high, len=len(text))
    return None


def phone_problem(phone: str) -> str | None:
    """Say what is wrong with a contact phone number, or None (empty is allowed)."""
    if phone and not PHONE_RE.match(phone):
        return _(
            "Enter an 11-digit mainland mobile number, such as 13812341234, or leave it empty."
        )
    return None


def parse_question(payload: object, client_id_required: bool = True) -> QuestionInput:
    """Validate a question payload {text, nickname?, phone?, client_id} from any channel."""
    if not isinstance(payload, dict):
        raise InvalidInput({"payload": _("Send the question as an object with a text.")})
    errors: dict[str, str] = {}
    raw_text = payload.get("text")
    if raw_text is not None and not isinstance(raw_text, str):
        errors["text"] = _("The question must be text.")
    text = clean_text(raw_text)
    if "text" not in errors and (problem := text_problem(text)):
        errors["text"] = problem

    # Absent or null means "none"; anything else must be text (0, [] or {} is not "none").
    nickname_raw = payload.get("nickname")
    if nickname_raw is None:
        nickname_raw = ""
    elif not isinstance(nickname_raw, str):
        errors["nickname"] = _("The nickname must be text.")
        nickname_raw = ""
    nickname = clean_text(nickname_raw)
    limit = current_app.config["NICKNAME_MAX_LENGTH"]
    if len(nickname) > limit:
        errors["nickname"] = _("A nickname may have at most %(n)d characters.", n=limit)

    phone_raw = payload.get("phone")
    if phone_raw is None:
        phone_raw = ""
    elif not isinstance(phone_raw, str):
        errors["phone"] = _("The phone number must be text.")
        phone_raw = ""
    phone = re.sub(r"[\s-]", "", phone_raw)
    if problem := phone_problem(phone):
        errors["phone"] = problem

    client_id = payload.get("client_id")
    if client_id is None and not client_id_required:
        client_id = str(uuid.uuid4())
    try:
        client_id = str(uuid.UUID(str(client_id))) if isinstance(client_id, str) else None
    except ValueError:
        client_id = None
    if client_id is None:
        errors["client_id"] = _("The page sent a malformed question id; please reload it.")

    if errors:
        raise InvalidInput(errors)
    return QuestionInput(text=text, nickname=nickname, phone=phone or None,
                         client_id=client_id or "")
