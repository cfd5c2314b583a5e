"""Addresses given out to people: absolute, behind a proxy too."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for


def public_url(endpoint: str, **values: Any) -> str:
    """An absolute URL for QR codes and sharing, honouring PUBLIC_BASE_URL behind a proxy."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
