"""Staff login, roles and the office's account pages."""

from __future__ import annotations

from sqlalchemy import select

from qa_live.auth.models import Role, User
from qa_live.extensions import db
from tests.conftest import PASSWORD


def test_staff_member_logs_in_and_out(client, auth, make_user):
    user = make_user("office1", roles=[Role.OFFICE], name="王主任")
    response = auth.login(user)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/office/")
    page = client.get("/office/")
    assert "王主任" in page.get_data(as_text=True)
    assert db.session.get(User, user.id).last_login_at is not None
    auth.logout()
    assert client.get("/office/").status_code == 302


def test_wrong_password_shows_the_form_again_with_a_message(client, auth, make_user):
    make_user("office1")
    response = auth.login("office1", "not-the-password-1")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Wrong login or password" in body or "登录名或密码错误" in body
    assert 'value="office1"' in body  # what was typed is kept
    assert client.get("/office/").status_code == 302


def test_repeated_failed_logins_are_throttled(client, auth, make_user):
    make_user("office1")
    statuses = [auth.login("office1", f"guess-{i}-xyz").status_code for i in range(12)]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429
    # Even the right password waits until the window passes.
    assert auth.login("office1", PASSWORD).status_code == 429


def test_a_deactivated_account_cannot_log_in(client, auth, make_user):
    user = make_user("gone1")
    user.active = False
    db.session.commit()
    assert auth.login(user).status_code == 200
    assert client.get("/office/").status_code == 302


def test_pages_need_the_right_role(client, auth, make_user):
    answerer = make_user("answerer1", roles=[Role.ANSWERER])
    auth.login(answerer)
    for url in ("/office/plan", "/office/departments", "/office/staff", "/office/sessions/new"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "permission" in response.get_data(as_text=True) or "权限" in response.get_data(
            as_text=True
        )
    assert client.get("/office/").status_code == 200


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/office/plan")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_office_creates_an_account_with_roles_and_departments(client, auth, make_user,
                                                              make_department):
    trade = make_department("对外贸易处", "外贸处")
    auth.login(make_user("office1"))
    response = client.post("/office/staff/new", data={
        "login": "zhang.wei", "display_name": "张伟", "password": "Secret12345",
        "roles": ["answerer"], "departments": [str(trade.id)], "active": "y",
    })
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.login == "zhang.wei"))
    assert user.roles == {Role.ANSWERER}
    assert user.department_ids == {trade.id}
    assert user.check_password("Secret12345")


def test_account_form_explains_bad_input_and_keeps_it(client, auth, make_user):
    auth.login(make_user("office1"))
    response = client.post("/office/staff/new", data={
        "login": "bad login!", "display_name": "李四", "password": "short", "roles": [],
    })
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="李四"' in body
    assert body.count('class="error"') >= 3  # login, password, roles each explained
    assert db.session.scalar(select(User).where(User.display_name == "李四")) is None


def test_duplicate_login_is_refused(client, auth, make_user):
    auth.login(make_user("office1"))
    make_user("taken")
    response = client.post("/office/staff/new", data={
        "login": "TAKEN", "display_name": "x", "password": "Secret12345", "roles": ["host"],
    })
    assert 'class="error"' in response.get_data(as_text=True)
    assert db.session.scalars(select(User)).all().__len__() == 2


def test_password_reset_ends_the_accounts_open_sessions(app, make_user):
    office = make_user("office1")
    host = make_user("host1", roles=[Role.HOST])
    host_client, office_client = app.test_client(), app.test_client()
    host_client.post("/login", data={"login": "host1", "password": PASSWORD})
    assert host_client.get("/office/").status_code == 200
    office_client.post("/login", data={"login": office.login, "password": PASSWORD})
    response = office_client.post(f"/office/staff/{host.id}/password",
                                  data={"reset-password": "NewSecret999"})
    assert response.status_code == 302
    assert host_client.get("/office/").status_code == 302  # logged out
    assert host_client.post("/login", data={"login": "host1",
                                            "password": "NewSecret999"}).status_code == 302


def test_removing_a_role_takes_effect_at_once(app, make_user):
    office = make_user("office1")
    host = make_user("host1", roles=[Role.HOST, Role.OFFICE])
    host_client, office_client = app.test_client(), app.test_client()
    host_client.post("/login", data={"login": "host1", "password": PASSWORD})
    assert host_client.get("/office/plan").status_code == 200
    office_client.post("/login", data={"login": office.login, "password": PASSWORD})
    office_client.post(f"/office/staff/{host.id}", data={
        "display_name": "host1", "roles": ["host"], "active": "y"})
    assert db.session.get(User, host.id).roles == {Role.HOST}
    assert host_client.get("/office/plan").status_code in (302, 403)


def test_office_cannot_lock_itself_out(client, auth, make_user):
    office = make_user("office1")
    auth.login(office)
    client.post(f"/office/staff/{office.id}", data={"display_name": "me", "roles": ["host"]})
    assert db.session.get(User, office.id).roles == {Role.OFFICE}


def test_staff_create_command(runner, app):
    result = runner.invoke(args=["staff", "create", "cli.user", "--role", "office", "--role",
                                 "host", "--password", "Cli-pass-123"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.login == "cli.user"))
    assert user.roles == {Role.OFFICE, Role.HOST}
    bad = runner.invoke(args=["staff", "create", "weak", "--role", "host", "--password", "weak"])
    assert bad.exit_code != 0
    assert db.session.scalar(select(User).where(User.login == "weak")) is None
