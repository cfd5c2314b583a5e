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


def merge_paths(paths: dict[str, Any], more: dict[str, Any]) -> None:
    """Add operations to paths, keeping the methods a path already has."""
    for path, operations in more.items():
        paths.setdefault(path, {}).update(operations)


def figures_paths() -> dict[str, Any]:
    """Every path of this module, to merge into the document."""
    paths: dict[str, Any] = {}
    for part in (department_paths(),):
        merge_paths(paths, part)
    return paths
