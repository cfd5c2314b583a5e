"""Per-route upload limits, applied before anything reads the body (CSRF checks read forms).

A view marked ``@upload_limit("PHOTO_MAX_BYTES")`` accepts a body of that setting plus room
for the form's other fields; every other route keeps the app's general limit. A larger body is
refused by Werkzeug with 413 while it is being read, before it is stored anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request

F = TypeVar("F", bound=Callable[..., Any])
#: Room for the other fields of an upload form (caption, CSRF token, multipart boundaries).
FORM_SLACK = 256 * 1024


def upload_limit(*config_keys: str) -> Callable[[F], F]:
    """Mark a view as taking files up to the largest of these settings (in bytes)."""

    def mark(view: F) -> F:
        view.upload_limit_keys = config_keys  # type: ignore[attr-defined]
        return view

    return mark


def _apply_limit() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    keys = getattr(view, "upload_limit_keys", None)
    if keys:
        request.max_content_length = max(current_app.config[k] for k in keys) + FORM_SLACK
        request.max_form_memory_size = FORM_SLACK


def init_app(app: Flask) -> None:
    """Register the limit first, so it runs before the CSRF check reads the form."""
    app.before_request_funcs.setdefault(None, []).insert(0, _apply_limit)
