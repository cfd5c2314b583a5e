"""OpenAPI paths of issue 14's endpoints: departments, statistics, imports, 补录.

Kept apart from qa_live.api.openapi so that module stays small; it merges these in.
"""

from __future__ import annotations

from typing import Any

from qa_live.api.openapi import OBJ, STAFF, _body, _errors, _ok

DEPARTMENT_ID = {"name": "department_id", "in": "path", "required": True,
                 "schema": {"type": "integer"}}


def department_paths() -> dict[str, Any]:
    """Create, rename, deactivate departments (office)."""
    names = {"name": {"type": "string", "minLength": 1, "maxLength": 80},
             "short_name": {"type": "string", "maxLength": 20}}
    return {
        "/api/v1/staff/departments": {"post": {
            "summary": "Add a department (office); audited like the office's form",
            "security": STAFF,
            "requestBody": _body({"type": "object", "required": ["name"], "properties": names}),
            "responses": {"201": _ok("added", OBJ), **_errors(400, 401, 403, 415)}}},
        "/api/v1/staff/departments/{department_id}": {"patch": {
            "summary": "Rename, deactivate or reactivate a department (office); audited",
            "parameters": [DEPARTMENT_ID], "security": STAFF,
            "requestBody": _body({"type": "object", "properties": {
                **names, "active": {"type": "boolean"}}}),
            "responses": {"200": _ok("saved", OBJ), **_errors(400, 401, 403, 404, 415)}}},
    }


YEAR = {"name": "year", "in": "path", "required": True,
        "schema": {"type": "integer", "minimum": 2000, "maximum": 2100}}
AS_OF = {"name": "as_of", "in": "query", "schema": {"type": "string", "format": "date"},
         "description": "figures as they stood at the end of this local day (default: now); "
                        "not after today, not before the first session"}
FILTERS = [{"name": "department", "in": "query", "schema": {"type": "integer"}},
           {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
           {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}}]
FIGURES = {"type": "object", "description": "docs/metrics.md; every rate is "
           "{numerator, denominator, percent, value}, percent rounded down to one decimal"}


def stats_paths() -> dict[str, Any]:
    """The office's figures (docs/metrics.md), the same functions as the pages."""
    office = "(office token)"
    return {
        "/api/v1/stats/years/{year}": {"get": {
            "summary": f"The year's figures, narrowed by from/to/department {office}",
            "parameters": [YEAR, *FILTERS, AS_OF], "security": STAFF,
            "responses": {"200": _ok("figures", FIGURES), **_errors(400, 401, 403)}}},
        "/api/v1/stats/years/{year}/departments/{department_id}": {"get": {
            "summary": f"One department's figures in the year {office}",
            "parameters": [YEAR, DEPARTMENT_ID, AS_OF], "security": STAFF,
            "responses": {"200": _ok("figures", FIGURES), **_errors(400, 401, 403)}}},
        "/api/v1/stats/years/{year}/months/{month}": {"get": {
            "summary": f"One month's figures {office}",
            "parameters": [YEAR, {"name": "month", "in": "path", "required": True,
                                  "schema": {"type": "integer", "minimum": 1, "maximum": 12}},
                           AS_OF], "security": STAFF,
            "responses": {"200": _ok("figures", FIGURES), **_errors(400, 401, 403)}}},
        "/api/v1/stats/years/{year}/follow-ups": {"get": {
            "summary": f"Follow-up (线下落实) figures: the period's, per department and session "
                       f"{office}",
            "parameters": [YEAR, *FILTERS, AS_OF], "security": STAFF,
            "responses": {"200": _ok("figures", FIGURES), **_errors(400, 401, 403)}}},
        "/api/v1/stats/years/{year}/paragraph": {"get": {
            "summary": f"The annual report's paragraph, zh and en, and the day it runs to "
                       f"{office}",
            "parameters": [YEAR, *FILTERS, AS_OF], "security": STAFF,
            "responses": {"200": _ok("{as_of, zh, en}", OBJ), **_errors(400, 401, 403)}}},
        "/api/v1/stats/sessions/{session_id}": {"get": {
            "summary": "One session's figures (office, hosts, answerers of its departments)",
            "parameters": [{"name": "session_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}, AS_OF], "security": STAFF,
            "responses": {"200": _ok("figures", FIGURES), **_errors(400, 401, 403, 404)}}},
    }


def record_paths() -> dict[str, Any]:
    """Supplementary records (补录)."""
    return {
        "/api/v1/staff/sessions/{session_id}/questions/{question_id}/oral-answers": {"post": {
            "summary": "Record an answer given orally in a session that has ended (补录); whoever "
                       "may answer the question",
            "parameters": [{"name": "session_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}},
                           {"name": "question_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "security": STAFF,
            "requestBody": _body({"type": "object", "required": ["body", "given_at"],
                                  "properties": {
                                      "body": {"type": "string", "maxLength": 5000},
                                      "given_at": {"type": "string", "format": "date-time",
                                                   "description": "within the session"},
                                      "department_id": {"type": "integer"}}}),
            "responses": {"201": _ok("recorded", OBJ), **_errors(400, 401, 403, 404, 409, 415)}}},
    }


def import_paths() -> dict[str, Any]:
    """Importing past sessions (docs/imports.md)."""
    return {"/api/v1/staff/imports": {"post": {
        "summary": "Import past sessions from an import file (office); all or nothing",
        "description": "The body is the file (docs/imports.md, format qa_live-import/1). 201 "
                       "with the report when stored; 200 for a dry run; 400 with every refused "
                       "row and its reason, nothing stored.",
        "parameters": [{"name": "dry_run", "in": "query", "schema": {"enum": ["1", "0"]}},
                       {"name": "filename", "in": "query", "schema": {"type": "string"}}],
        "security": STAFF, "requestBody": _body(OBJ),
        "responses": {"201": _ok("imported", OBJ), "200": _ok("dry run", OBJ),
                      **_errors(400, 401, 403, 415)}}}}


def merge_paths(paths: dict[str, Any], more: dict[str, Any]) -> None:
    """Add operations to paths, keeping the methods a path already has."""
    for path, operations in more.items():
        paths.setdefault(path, {}).update(operations)


def figures_paths() -> dict[str, Any]:
    """Every path of this module, to merge into the document."""
    paths: dict[str, Any] = {}
    for part in (department_paths(), stats_paths(), record_paths(), import_paths()):
        merge_paths(paths, part)
    return paths
