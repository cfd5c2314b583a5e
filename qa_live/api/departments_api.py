"""/api/v1/staff/departments: the office creates, renames and deactivates departments.

The same operations as the office's form (qa_live.planning.services), so the same rules and
the same audit entries; registered on the API blueprint (qa_live.api.common).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from qa_live.api.common import bp, json_body, staff_user
from qa_live.auth.models import Role
from qa_live.extensions import db
from qa_live.live.socket_common import EventError
from qa_live.planning import services as planning
from qa_live.planning.models import Department


def department_json(department: Department) -> dict[str, Any]:
    """A department as the API returns it."""
    return {"id": department.id, "name": department.name, "short_name": department.short_name,
            "active": department.active}


def _get_department_or_404(department_id: int) -> Department:
    department = db.session.get(Department, department_id)
    if department is None:
        raise EventError("not_found", _("There is no such department."))
    return department


@bp.post("/staff/departments")
def create_department() -> ResponseReturnValue:
    """Add a department (office): {"name", "short_name"?}."""
    user = staff_user(Role.OFFICE)
    data = json_body()
    department = planning.create_department(data.get("name"),  # type: ignore[arg-type]
                                            data.get("short_name", ""), user)
    db.session.commit()
    return jsonify(department=department_json(department)), 201


@bp.patch("/staff/departments/<int:department_id>")
def update_department(department_id: int) -> ResponseReturnValue:
    """Rename ({"name", "short_name"?}) and/or deactivate or reactivate ({"active"}) (office)."""
    user = staff_user(Role.OFFICE)
    department = _get_department_or_404(department_id)
    data = json_body()
    unknown = set(data) - {"name", "short_name", "active"}
    if unknown or not data:
        raise EventError("invalid", _("Send name, short_name and/or active."),
                         {k: "unknown" for k in sorted(unknown)} or {"name": "str"})
    active = data.get("active", department.active)
    if not isinstance(active, bool):
        raise EventError("invalid", _("active must be true or false."), {"active": "bool"})
    if "name" in data or "short_name" in data:
        planning.rename_department(department, data.get("name", department.name),
                                   data.get("short_name", department.short_name), user)
    if active != department.active:
        planning.set_department_active(department, active, user)
    db.session.commit()
    return jsonify(department=department_json(department))
