"""/api/v1: sessions, streams, asking and voting for citizens; planning and live actions for
staff, with personal API tokens (Authorization: Bearer …) or the staff login cookie + CSRF.

docs/api.md and the OpenAPI document at /api/v1/openapi.json describe every endpoint. The
routes are in citizens.py, own_questions.py, staff.py, approvals.py, followups.py,
departments_api.py, records_api.py, stats_api.py, media.py, polls.py (live polls and public
votes) and staff_votes.py, on the blueprint of common.py.
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from qa_live.api import (  # noqa: F401 - their routes join bp
    approvals,
    citizens,
    departments_api,
    followups,
    media,
    own_questions,
    polls,
    records_api,
    staff,
    staff_votes,
    stats_api,
)
from qa_live.api.common import bp

__all__ = ["bp"]


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI description of this API."""
    from qa_live.api.openapi import spec

    return jsonify(spec())
