"""Search and filter the questions of a live page: by words, and answered or still waiting.

The page's script filters as the citizen types (static/js/live.js, the same rules); without the
script the form's GET parameters (``q``, ``show``) do it here, so the filtered page is also a
link that can be shared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

SHOWS = ("all", "answered", "waiting")
MAX_TEXT = 100


def show_labels() -> dict[str, str]:
    """The choices of the "show" filter, translated."""
    return {"all": _("All questions"), "answered": _("Answered"),
            "waiting": _("Waiting for an answer")}


@dataclass(frozen=True)
class StreamFilter:
    """What the citizen searches for and which questions they want to see."""

    text: str = ""
    show: str = "all"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> StreamFilter:
        """Read ``q`` and ``show`` from a query string, ignoring what does not fit."""
        text = " ".join(str(args.get("q", "")).split())[:MAX_TEXT]
        show = args.get("show", "all")
        return cls(text=text, show=show if show in SHOWS else "all")

    @property
    def active(self) -> bool:
        """Whether anything is filtered out."""
        return bool(self.text) or self.show != "all"

    def matches(self, question: dict[str, Any]) -> bool:
        """Whether a published question (as serialised for the page) passes the filter."""
        if self.show == "answered" and question["status"] != "answered":
            return False
        if self.show == "waiting" and question["status"] == "answered":
            return False
        if not self.text:
            return True
        haystack = " ".join([question["text"], question.get("nickname") or "",
                             question.get("department") or "",
                             *(a["body"] for a in question.get("answers") or [])]).casefold()
        return all(word in haystack for word in self.text.casefold().split())

    def apply(self, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The questions that pass, in the same order."""
        return [q for q in questions if self.matches(q)] if self.active else questions
