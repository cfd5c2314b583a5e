"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json and kept in docs/."""

from __future__ import annotations

from typing import Any

from qa_live.live.commands import COMMANDS

ERROR = {"$ref": "#/components/schemas/Error"}


def _ok(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"description": description}
    if schema is not None:
        body["content"] = {"application/json": {"schema": schema}}
    return body


def _errors(*codes: int) -> dict[str, Any]:
    names = {400: "Bad input", 401: "Not logged in / bad token", 403: "Role or department not "
             "allowed", 404: "Unknown session, question or id", 409: "Not possible in the "
             "current state", 413: "A file over its size limit (or too many pixels)",
             415: "A body that is not JSON",
             429: "Too many requests or asking too fast",
             503: "unavailable: the database or Redis is briefly unreachable; nothing was done, "
             "try again after Retry-After seconds"}
    return {str(c): _ok(names[c], ERROR) for c in (*codes, 503)}  # any call may meet an outage


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
OBJ = {"type": "object"}
#: For endpoints that need no fields: no body at all is read as {} (a body must be JSON).
EMPTY_OK = _body(OBJ, required=False)
SESSION_ID = {"name": "session_id", "in": "path", "required": True,
              "schema": {"type": "integer"}}
STAFF: list[dict[str, list[str]]] = [{"bearer": []}, {"cookie": []}]
VISITOR: list[dict[str, list[str]]] = [{}, {"visitor": []}]


def spec() -> dict[str, Any]:
    """Build the document."""
    question_in = {
        "type": "object", "required": ["client_id", "text"],
        "properties": {
            "client_id": {"type": "string", "format": "uuid",
                          "description": "made by the client; a retry returns the same question"},
            "text": {"type": "string", "minLength": 5, "maxLength": 500},
            "nickname": {"type": "string", "maxLength": 32},
            "phone": {"type": "string", "description": "mainland mobile, 11 digits"},
        },
    }
    session_in = {
        "type": "object",
        "required": ["title", "scheduled_start", "scheduled_end", "department_ids"],
        "properties": {
            "title": {"type": "string", "minLength": 2, "maxLength": 120},
            "description": {"type": "string", "maxLength": 4000},
            "scheduled_start": {"type": "string", "format": "date-time"},
            "scheduled_end": {"type": "string", "format": "date-time"},
            "department_ids": {"type": "array", "items": {"type": "integer"}},
            "host_ids": {"type": "array", "items": {"type": "integer"}},
            "answerer_ids": {"type": "array", "items": {"type": "integer"}},
            "editor_ids": {"type": "array", "items": {"type": "integer"},
                           "description": "text editors on duty (role editor)"},
            "reviewer_ids": {"type": "array", "items": {"type": "integer"},
                             "description": "reviewers on duty (role reviewer)"},
            "director_ids": {"type": "array", "items": {"type": "integer"},
                             "description": "directors on duty (role director)"},
            "reviewed": {"type": "boolean", "description": "answers and host posts wait for "
                         "a reviewer; needs a reviewer on duty"},
            "guests": {"type": "array", "items": {
                "type": "object", "properties": {"name": {"type": "string"},
                                                 "title": {"type": "string"}}}},
            "moderation_mode": {"enum": ["pre", "open"]},
            "precollect_opens_at": {"type": "string", "format": "date-time"},
            "precollect_closes_at": {"type": "string", "format": "date-time"},
            "slug": {"type": "string", "pattern": "^[a-z0-9-]*$"},
            "stream_url": {"type": "string", "maxLength": 500,
                           "description": "video/audio live: an http(s) HLS playlist (.m3u8)"},
        },
    }
    commands_doc = "; ".join(
        f"`{name}`: {(fn.__doc__ or '').strip()}" for name, fn in sorted(COMMANDS.items())
    )
    paths: dict[str, Any] = {
        "/api/v1/openapi.json": {"get": {
            "summary": "This document", "security": [{}],
            "responses": {"200": _ok("OpenAPI document", OBJ)}}},
        "/api/v1/visitor": {"get": {
            "summary": "A visitor token for clients without cookies (send as X-Visitor-Token)",
            "security": VISITOR, "responses": {"200": _ok("token", OBJ)}}},
        "/api/v1/sessions": {"get": {
            "summary": "Public sessions of a year",
            "parameters": [
                {"name": "year", "in": "query", "schema": {"type": "integer"}},
                {"name": "state", "in": "query", "schema": {
                    "enum": ["announced", "live", "ended", "archived", "cancelled"]}}],
            "security": [{}],
            "responses": {"200": _ok("sessions", OBJ), **_errors(400)}}},
        "/api/v1/sessions/{slug}": {"get": {
            "summary": "One public session with its counters", "parameters": [SLUG],
            "security": [{}], "responses": {"200": _ok("session", OBJ), **_errors(404)}}},
        "/api/v1/sessions/{slug}/stream": {"get": {
            "summary": "Events after ?since=N (replay) or a snapshot, as docs/realtime.md",
            "parameters": [SLUG, {"name": "since", "in": "query",
                                  "schema": {"type": "integer", "minimum": 0}}],
            "security": [{}],
            "responses": {"200": _ok("replay or snapshot", OBJ), **_errors(400, 404)}}},
        "/api/v1/sessions/{slug}/questions": {"post": {
            "summary": "Ask (live, or in advance while collection is open)",
            "parameters": [SLUG], "security": VISITOR, "requestBody": _body(question_in),
            "responses": {"201": _ok("stored", OBJ), "200": _ok("already stored (retry)", OBJ),
                          **_errors(400, 404, 409, 415, 429)}}},
        "/api/v1/sessions/{slug}/questions/mine": {"get": {
            "summary": "The visitor's own questions with their status", "parameters": [SLUG],
            "security": VISITOR, "responses": {"200": _ok("questions", OBJ), **_errors(404)}}},
        "/api/v1/sessions/{slug}/questions/{question_id}": {
            "patch": {
                "summary": "The asker changes the wording of their own question while it waits "
                           "for review",
                "parameters": [SLUG, {"name": "question_id", "in": "path", "required": True,
                                      "schema": {"type": "integer"}}],
                "security": VISITOR, "requestBody": _body({
                    "type": "object", "required": ["text"],
                    "properties": {"text": {"type": "string", "minLength": 5,
                                            "maxLength": 500}}}),
                "responses": {"200": _ok("the question as its asker sees it", OBJ),
                              **_errors(400, 403, 404, 409, 415)}},
            "delete": {
                "summary": "The asker withdraws their own question while it waits for review; "
                           "it counts nowhere afterwards",
                "parameters": [SLUG, {"name": "question_id", "in": "path", "required": True,
                                      "schema": {"type": "integer"}}],
                "security": VISITOR,
                "responses": {"200": _ok("{id, withdrawn: true}", OBJ),
                              **_errors(403, 404, 409, 415)}},
        },
        "/api/v1/sessions/{slug}/questions/{question_id}/vote": {"post": {
            "summary": "Upvote a published question (once per visitor)",
            "parameters": [SLUG, {"name": "question_id", "in": "path", "required": True,
                                  "schema": {"type": "integer"}}],
            "security": VISITOR, "requestBody": EMPTY_OK,
            "responses": {"200": _ok("new count", OBJ), **_errors(404, 409, 415, 429)}}},
        "/api/v1/sessions/{slug}/questions/{question_id}/answers/{answer_id}/rating": {"post": {
            "summary": "The asker rates an answer to their own question (满意度); once per "
                       "answer, and may change it",
            "parameters": [SLUG, {"name": "question_id", "in": "path", "required": True,
                                  "schema": {"type": "integer"}},
                           {"name": "answer_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "security": VISITOR, "requestBody": _body({
                "type": "object", "required": ["value"],
                "properties": {"value": {"enum": ["satisfied", "basic", "unsatisfied"]}}}),
            "responses": {"201": _ok("rated", OBJ), "200": _ok("rating changed", OBJ),
                          **_errors(400, 401, 403, 404, 415)}}},
        "/api/v1/staff/me": {"get": {
            "summary": "The caller's account, roles and departments", "security": STAFF,
            "responses": {"200": _ok("account", OBJ), **_errors(401)}}},
        "/api/v1/staff/departments": {"get": {
            "summary": "All departments", "security": STAFF,
            "responses": {"200": _ok("departments", OBJ), **_errors(401)}}},
        "/api/v1/staff/sessions": {"post": {
            "summary": "Plan a session (office; a department's planner for their own "
                       "departments, to be approved by the office)", "security": STAFF,
            "requestBody": _body(session_in),
            "responses": {"201": _ok("planned", OBJ), **_errors(400, 401, 403, 415)}}},
        "/api/v1/staff/sessions/{session_id}": {
            "get": {"summary": "Every question the caller may see (console snapshot)",
                    "parameters": [SESSION_ID], "security": STAFF,
                    "responses": {"200": _ok("snapshot", OBJ), **_errors(401, 403, 404)}},
            "patch": {"summary": "Change a planned session (office; a planner their "
                                 "departments' drafts)",
                      "parameters": [SESSION_ID], "security": STAFF,
                      "requestBody": _body(session_in),
                      "responses": {"200": _ok("saved", OBJ),
                                    **_errors(400, 401, 403, 404, 415)}}},
        "/api/v1/staff/sessions/{session_id}/announce": {"post": {
            "summary": "Announce a session to the public (office)", "parameters": [SESSION_ID],
            "security": STAFF, "requestBody": EMPTY_OK,
            "responses": {"200": _ok("announced", OBJ), **_errors(400, 401, 403, 404, 415)}}},
        "/api/v1/staff/sessions/{session_id}/cancel": {"post": {
            "summary": "Cancel a session with a reason (office)", "parameters": [SESSION_ID],
            "security": STAFF, "requestBody": _body({
                "type": "object", "required": ["reason"],
                "properties": {"reason": {"type": "string", "maxLength": 200}}}),
            "responses": {"200": _ok("cancelled", OBJ), **_errors(400, 401, 403, 404, 415)}}},
        "/api/v1/staff/sessions/{session_id}/actions/{name}": {"post": {
            "summary": "A live-session action, the same as the console's socket event",
            "description": "The body is the socket event's payload (docs/realtime.md). "
                           + commands_doc,
            "parameters": [SESSION_ID, {"name": "name", "in": "path", "required": True,
                                        "schema": {"enum": sorted(COMMANDS)}}],
            "security": STAFF, "requestBody": EMPTY_OK,
            "responses": {"200": _ok("done", OBJ), **_errors(400, 401, 403, 404, 409, 415)}}},
    }
    paths.update(_follow_up_paths())
    from qa_live.api.openapi_figures import figures_paths, merge_paths

    merge_paths(paths, figures_paths())
    paths.update(_approval_paths())
    paths.update(_media_paths())
    from qa_live.api.openapi_polls import poll_paths

    paths.update(poll_paths())
    return {
        "openapi": "3.1.0",
        "info": {"title": "qa_live API", "version": "1",
                 "description": "Live online Q&A sessions (网络在线问政). Errors are "
                                "{error, message, fields?}; see docs/api.md."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {"Error": {"type": "object", "required": ["error", "message"],
                                  "properties": {"error": {"type": "string"},
                                                 "message": {"type": "string"},
                                                 "fields": {"type": "object"}}}},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "personal API token (qal_…), made on /account/tokens"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "session",
                           "description": "staff login; writes need the X-CSRFToken header"},
                "visitor": {"type": "apiKey", "in": "header", "name": "X-Visitor-Token",
                            "description": "or the qa_visitor cookie"},
            },
        },
    }


def _approval_paths() -> dict[str, Any]:
    """The office's approval of sessions planned by a department (planning/approval.py)."""
    def post(summary: str, body: dict[str, Any] = EMPTY_OK) -> dict[str, Any]:
        return {"post": {"summary": summary, "parameters": [SESSION_ID], "security": STAFF,
                         "requestBody": body,
                         "responses": {"200": _ok("session and approval", OBJ),
                                       **_errors(400, 401, 403, 404, 409, 415)}}}

    return {
        "/api/v1/staff/approvals": {"get": {
            "summary": "Sessions sent for approval, the longest waiting first, with their "
                       "history (office)", "security": STAFF,
            "responses": {"200": _ok("queue", OBJ), **_errors(401, 403)}}},
        "/api/v1/staff/sessions/{session_id}/approval": {"get": {
            "summary": "A session's approval state and history (office, or a planner of it)",
            "parameters": [SESSION_ID], "security": STAFF,
            "responses": {"200": _ok("approval", OBJ), **_errors(401, 403, 404)}}},
        "/api/v1/staff/sessions/{session_id}/submit": post(
            "Send a department's draft to the office for approval (its planner)"),
        "/api/v1/staff/sessions/{session_id}/approve": post(
            "Approve a session sent for approval (office only)"),
        "/api/v1/staff/sessions/{session_id}/return": post(
            "Send a session back to its department with a reason (office only)",
            _body({"type": "object", "required": ["reason"],
                   "properties": {"reason": {"type": "string", "maxLength": 500}}})),
    }


def _follow_up_paths() -> dict[str, Any]:
    """Follow-ups (线下落实) and second replies (docs/followups.md)."""
    follow_up_id = {"name": "follow_up_id", "in": "path", "required": True,
                    "schema": {"type": "integer"}}
    fields = {
        "department_id": {"type": ["integer", "null"]},
        "assignee_id": {"type": ["integer", "null"],
                        "description": "a staff member of the department"},
        "due_date": {"type": "string", "format": "date",
                     "description": "not in the past; default 5 working days after the session"},
        "notes": {"type": "string", "maxLength": 5000},
    }
    create_in = {"type": "object", "required": ["question_id"],
                 "properties": {"question_id": {"type": "integer"}, **fields}}
    update_in = {"type": "object", "properties": {
        **fields, "status": {"enum": ["open", "in_progress"]}}}
    close_in = {"type": "object", "required": ["status"], "properties": {
        "status": {"enum": ["done", "impossible"]},
        "reply": {"type": "string", "description": "the second reply (status done), published"},
        "reason": {"type": "string", "description": "why it cannot be done (impossible)"},
        "outcome": {"type": "string"}}}
    return {
        "/api/v1/staff/follow-ups": {
            "get": {"summary": "Follow-ups the caller may see (answerers: their departments')",
                    "parameters": [
                        {"name": "view", "in": "query", "schema": {
                            "enum": ["open", "due_soon", "overdue", "done", "all"]}},
                        {"name": "department_id", "in": "query", "schema": {"type": "integer"}},
                        {"name": "session_id", "in": "query", "schema": {"type": "integer"}}],
                    "security": STAFF,
                    "responses": {"200": _ok("follow-ups", OBJ), **_errors(400, 401)}},
            "post": {"summary": "Open a follow-up on a question", "security": STAFF,
                     "requestBody": _body(create_in),
                     "responses": {"201": _ok("opened", OBJ),
                                   **_errors(400, 401, 403, 404, 409, 415)}}},
        "/api/v1/staff/follow-ups/{follow_up_id}": {
            "get": {"summary": "One follow-up with its history", "parameters": [follow_up_id],
                    "security": STAFF,
                    "responses": {"200": _ok("follow-up", OBJ), **_errors(401, 403, 404)}},
            "patch": {"summary": "Change department, assignee, due date, notes or status",
                      "parameters": [follow_up_id], "security": STAFF,
                      "requestBody": _body(update_in),
                      "responses": {"200": _ok("saved", OBJ),
                                    **_errors(400, 401, 403, 404, 409, 415)}}},
        "/api/v1/staff/follow-ups/{follow_up_id}/close": {"post": {
            "summary": "Close: done with a published second reply, or impossible with a reason",
            "parameters": [follow_up_id], "security": STAFF, "requestBody": _body(close_in),
            "responses": {"200": _ok("closed", OBJ), **_errors(400, 401, 403, 404, 409, 415)}}},
    }


def _multipart(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def _media_paths() -> dict[str, Any]:
    """Photo live, materials and the recording (docs/api.md, "Media")."""
    binary = {"type": "string", "format": "binary"}
    material = {"kind": {"enum": ["highlight", "guest", "background", "policy"]},
                "title": {"type": "string", "maxLength": 120},
                "subtitle": {"type": "string", "maxLength": 120,
                             "description": "a guest's position"},
                "body": {"type": "string", "maxLength": 10000}}
    return {
        "/api/v1/sessions/{slug}/media": {"get": {
            "summary": "A public session's photos, materials, stream address and recording",
            "parameters": [SLUG], "security": [{}],
            "responses": {"200": _ok("media", OBJ), **_errors(404)}}},
        "/api/v1/staff/sessions/{session_id}/photos": {"post": {
            "summary": "Post a photo with a caption into the session's stream (editors)",
            "description": "JPEG, PNG, WebP or GIF, checked by content; EXIF and location "
                           "removed; sizes 480/960/1920 wide in WebP and JPEG.",
            "parameters": [SESSION_ID], "security": STAFF,
            "requestBody": {"required": True, "content": {"multipart/form-data": {
                "schema": _multipart({"photo": binary,
                                      "caption": {"type": "string", "maxLength": 500}},
                                     ["photo"])}}},
            "responses": {"201": _ok("published", OBJ),
                          "202": _ok("sent for review (a reviewed session, announced or live): "
                                     "published once a reviewer approves it", OBJ),
                          **_errors(400, 401, 403, 404, 409, 413, 415)}}},
        "/api/v1/staff/sessions/{session_id}/materials": {"post": {
            "summary": "Add a material (editors): JSON, or multipart with its PDF or photo",
            "parameters": [SESSION_ID], "security": STAFF,
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _multipart(material, ["kind", "title"])},
                "multipart/form-data": {"schema": _multipart(
                    {**material, "document": binary, "photo": binary}, ["kind", "title"])}}},
            "responses": {"201": _ok("added", OBJ),
                          **_errors(400, 401, 403, 404, 409, 413, 415)}}},
        "/api/v1/staff/sessions/{session_id}/recording": {"post": {
            "summary": "Attach the recording after the session: an address or a file",
            "parameters": [SESSION_ID], "security": STAFF,
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _multipart(
                    {"url": {"type": "string", "description": "http(s) .m3u8, .mp4, .m4a "
                                                              "or .mp3"}}, ["url"])},
                "multipart/form-data": {"schema": _multipart({"recording": binary},
                                                             ["recording"])}}},
            "responses": {"200": _ok("attached", OBJ),
                          **_errors(400, 401, 403, 404, 409, 413, 415)}}},
    }
