"""Departments through the API: the office's form's rules and audit entries, office only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from qa_live.audit.models import AuditEntry
from qa_live.auth import tokens
from qa_live.auth.models import Role
from qa_live.extensions import db
from qa_live.planning.models import Department


def bearer(user) -> dict[str, str]:
    _row, secret = tokens.create_token(user, "test")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def office(make_user):
    return make_user("office-depts", roles=[Role.OFFICE])


def entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)))


def test_the_office_adds_renames_and_deactivates_a_department(client, office):
    headers = bearer(office)
    made = client.post("/api/v1/staff/departments", headers=headers,
                       json={"name": " 对外贸易处 ", "short_name": "外贸处"})
    assert made.status_code == 201
    dept = made.get_json()["department"]
    assert dept == {"id": dept["id"], "name": "对外贸易处", "short_name": "外贸处",
                    "active": True}
    renamed = client.patch(f"/api/v1/staff/departments/{dept['id']}", headers=headers,
                           json={"name": "对外贸易与口岸处"})
    assert renamed.status_code == 200
    assert renamed.get_json()["department"]["name"] == "对外贸易与口岸处"
    off = client.patch(f"/api/v1/staff/departments/{dept['id']}", headers=headers,
                       json={"active": False})
    assert off.get_json()["department"]["active"] is False
    listed = client.get("/api/v1/staff/departments", headers=headers).get_json()["departments"]
    assert [(d["name"], d["active"]) for d in listed] == [("对外贸易与口岸处", False)]
    # Each change has the audit entry the form writes, with who did it.
    for action in ("department_create", "department_update", "department_active"):
        (entry,) = entries(action)
        assert entry.login == "office-depts" and entry.target_id == dept["id"]


def test_the_form_and_the_api_write_the_same_audit_entry(client, auth, office):
    auth.login(office)
    assert client.post("/office/departments", data={"name": "市场处"}).status_code == 302
    client.post("/logout")
    made = client.post("/api/v1/staff/departments", headers=bearer(office),
                       json={"name": "电商处"})
    assert made.status_code == 201
    form_entry, api_entry = entries("department_create")
    assert (form_entry.login, form_entry.target_type) == (api_entry.login, api_entry.target_type)
    assert form_entry.detail == '{"name": "市场处"}' and api_entry.detail == '{"name": "电商处"}'


@pytest.mark.parametrize(("body", "field"), [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": 42}, "name"),
    ({"name": "处" * 81}, "name"),
    ({"name": "外贸处", "short_name": "x" * 21}, "short_name"),
    ({"name": "外贸处", "short_name": ["x"]}, "short_name"),
])
def test_bad_names_are_refused_with_the_field(client, office, body, field):
    response = client.post("/api/v1/staff/departments", headers=bearer(office), json=body)
    assert response.status_code == 400
    assert field in response.get_json()["fields"]
    assert db.session.scalar(select(Department)) is None
    assert entries("department_create") == []


def test_a_second_department_of_the_same_name_is_refused(client, office, make_department):
    make_department("外贸处")
    other = make_department("市场处")
    headers = bearer(office)
    assert client.post("/api/v1/staff/departments", headers=headers,
                       json={"name": "外贸处"}).status_code == 400
    clash = client.patch(f"/api/v1/staff/departments/{other.id}", headers=headers,
                         json={"name": "外贸处"})
    assert clash.status_code == 400 and clash.get_json()["fields"] == {"name": "已存在同名处室。"}
    assert client.patch(f"/api/v1/staff/departments/{other.id}", headers=headers,
                        json={"active": "no"}).status_code == 400
    assert client.patch(f"/api/v1/staff/departments/{other.id}", headers=headers,
                        json={"colour": "red"}).status_code == 400
    assert client.patch("/api/v1/staff/departments/9999", headers=headers,
                        json={"active": False}).status_code == 404
    assert db.session.get(type(other), other.id).name == "市场处"


def test_only_the_office_changes_departments(client, make_user, make_department):
    dept = make_department("外贸处")
    host = make_user("host-depts", roles=[Role.HOST])
    headers = bearer(host)
    assert client.post("/api/v1/staff/departments", headers=headers,
                       json={"name": "市场处"}).status_code == 403
    assert client.patch(f"/api/v1/staff/departments/{dept.id}", headers=headers,
                        json={"active": False}).status_code == 403
    assert client.post("/api/v1/staff/departments", json={"name": "市场处"}).status_code == 401
    assert db.session.get(Department, dept.id).active is True
