"""The OpenAPI paths of live polls (citizens) and public votes (citizens and the office)."""

from __future__ import annotations

from typing import Any

from qa_live.api.openapi import EMPTY_OK, OBJ, SLUG, STAFF, VISITOR, _body, _errors, _ok

POLL_ID = {"name": "poll_id", "in": "path", "required": True, "schema": {"type": "integer"}}
CHOICE = _body({"type": "object", "required": ["option_ids"], "properties": {
    "option_ids": {"type": "array", "items": {"type": "integer"}, "minItems": 1,
                   "description": "ids of the chosen options: one, or up to max_choices"}}})


def poll_paths() -> dict[str, Any]:
    """Live polls and public votes (docs/api.md, "Polls and votes")."""
    vote_in = {
        "type": "object", "required": ["kind", "question"],
        "properties": {
            "kind": {"enum": ["departments", "theme"]},
            "question": {"type": "string", "minLength": 2, "maxLength": 200},
            "description": {"type": "string", "maxLength": 2000},
            "closes_at": {"type": "string", "format": "date-time"},
            "year": {"type": "integer", "description": "departments: the year planned"},
            "max_choices": {"type": "integer", "minimum": 1,
                            "description": "departments: how many one may choose"},
            "department_ids": {"type": "array", "items": {"type": "integer"},
                               "description": "departments: the candidates (default: all "
                                              "active departments)"},
            "session_id": {"type": "integer", "description": "theme: the session"},
            "themes": {"type": "array", "items": {"type": "string"}, "minItems": 2,
                       "maxItems": 10, "description": "theme: the candidate themes"},
        },
    }

    def office(summary: str, body: dict[str, Any] = EMPTY_OK, status: str = "200",
               codes: tuple[int, ...] = (401, 403, 404, 409, 415)) -> dict[str, Any]:
        return {"post": {"summary": summary, "parameters": [POLL_ID], "security": STAFF,
                         "requestBody": body,
                         "responses": {status: _ok("done", OBJ), **_errors(*codes)}}}

    return {
        "/api/v1/sessions/{slug}/polls": {"get": {
            "summary": "A session's live polls (results once citizens may see them) and the "
                       "caller's answers", "parameters": [SLUG], "security": VISITOR,
            "responses": {"200": _ok("polls", OBJ), **_errors(404)}}},
        "/api/v1/sessions/{slug}/polls/{poll_id}/answer": {"post": {
            "summary": "Answer a live poll, or change one's answer while it is open",
            "parameters": [SLUG, POLL_ID], "security": VISITOR, "requestBody": CHOICE,
            "responses": {"200": _ok("stored: outcome new, changed or same", OBJ),
                          **_errors(400, 404, 409, 415, 429)}}},
        "/api/v1/votes": {"get": {
            "summary": "Open and closed public votes (results of the closed ones)",
            "security": [{}], "responses": {"200": _ok("votes", OBJ)}}},
        "/api/v1/votes/{poll_id}": {"get": {
            "summary": "One public vote with the caller's choice (results once closed)",
            "parameters": [POLL_ID], "security": VISITOR,
            "responses": {"200": _ok("vote", OBJ), **_errors(404)}}},
        "/api/v1/votes/{poll_id}/ballot": {"post": {
            "summary": "Vote: once per visitor, while open; a per-address limit too",
            "parameters": [POLL_ID], "security": VISITOR, "requestBody": CHOICE,
            "responses": {"201": _ok("counted", OBJ), **_errors(400, 404, 409, 415, 429)}}},
        "/api/v1/staff/votes": {
            "get": {"summary": "Every public vote with its results so far (office)",
                    "security": STAFF, "responses": {"200": _ok("votes", OBJ),
                                                     **_errors(401, 403)}},
            "post": {"summary": "Prepare a departments vote (office) or propose a session's "
                                "themes (office, the session's departments); a draft",
                     "security": STAFF, "requestBody": _body(vote_in),
                     "responses": {"201": _ok("prepared", OBJ),
                                   **_errors(400, 401, 403, 404, 415)}}},
        "/api/v1/staff/votes/{poll_id}": {"get": {
            "summary": "One vote with its results so far (office)", "parameters": [POLL_ID],
            "security": STAFF, "responses": {"200": _ok("vote", OBJ),
                                             **_errors(401, 403, 404)}}},
        "/api/v1/staff/votes/{poll_id}/open": office("Open the vote to citizens (office)"),
        "/api/v1/staff/votes/{poll_id}/close": office(
            "Close the vote; its results become public (office)"),
        "/api/v1/staff/votes/{poll_id}/draft-plan": office(
            "Draft next year's sessions for the `top` departments by votes (office)",
            _body({"type": "object", "required": ["top"], "properties": {
                "top": {"type": "integer", "minimum": 1, "maximum": 12}}}), "201",
            (400, 401, 403, 404, 409, 415)),
        "/api/v1/staff/votes/{poll_id}/apply-theme": office(
            "Make the winning theme the session's title (option_id: one of tied leaders)",
            _body({"type": "object", "properties": {"option_id": {"type": "integer"}}},
                  required=False), "200", (400, 401, 403, 404, 409, 415)),
    }
