"""/api/v1: sessions, streams, asking and voting for citizens; planning and live actions for
staff, with personal API tokens (Authorization: Bearer …) or the staff login cookie + CSRF.

docs/api.md and the OpenAPI document at /api/v1/openapi.json describe every endpoint. The
routes are in citizens.py, staff.py, followups.py, polls.py (live polls and public votes)
and staff_votes.py, on the blueprint of common.py.
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from qa_live.api import (  # noqa: F401 - their routes join bp
    citizens,
    followups,
    polls,
    staff,
    staff_votes,
)
from qa_live.api.common import bp

__all__ = ["bp"]


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI description of this API."""
    from qa_live.api.openapi import spec

    return jsonify(spec())
