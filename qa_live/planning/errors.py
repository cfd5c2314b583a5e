"""The error planning operations raise: the office's pages, the API and the CLI all show it."""

from __future__ import annotations


class PlanningError(ValueError):
    """A planning change that cannot be made; `field` names the form field it concerns.

    `code` is the error the API answers with: "invalid" (400) for a bad draft, "forbidden"
    (403) for a right the actor lacks, "bad_transition" (409) for a move the state forbids.
    """

    def __init__(self, message: str, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.code = code
