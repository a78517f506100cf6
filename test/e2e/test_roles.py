"""Roles (API.md section 2): who manages whom, and what a refused request leaves; the matrix of
every endpoint and role is test_access_matrix.py."""
import pytest
import requests

from conftest import PASSWORD, ROLES, Client, assert_error

SESSION = {"protocol": "ssh", "started_at": "2022-04-05 16:06:07+02"}


@pytest.fixture(scope="module")
def clients(shared_server, admin):
    """A logged-in client per role; `user`, which may not log in, sends Basic credentials."""
    out = {role: shared_server.add_user(admin, f"matrix-{role}", role) for role in ROLES
           if role != "user"}
    admin.create("user", name="matrix-user", role="user", password=PASSWORD)
    out["user"] = Client(shared_server.url, requests.auth._basic_auth_str("matrix-user", PASSWORD))
    return out


def session(admin):
    return admin.create("session", **SESSION)


def test_forbidden_request_changes_nothing(admin, clients):
    sid = session(admin)
    assert_error(clients["operator"].patch(f"/api/v2/session/{sid}", json={"status": "rejected"}),
                 403, "Forbidden")
    assert_error(clients["service"].delete(f"/api/v2/session/{sid}"), 403, "Forbidden")
    s = admin.fetch("session", sid)
    assert "status" not in s and "removed" not in s


def test_admin_may_not_create_a_superadmin(clients):
    r = clients["admin"].post("/api/v2/user", json={"name": "would-be-root", "role": "superadmin",
                                                    "password": PASSWORD})
    assert_error(r, 403, "Forbidden")


def test_admin_may_not_modify_or_delete_a_superadmin(admin, clients):
    uid = admin.create("user", name="root-2", role="superadmin", password=PASSWORD)
    assert_error(clients["admin"].patch(f"/api/v2/user/{uid}", json={"email": "x@y"}),
                 403, "Forbidden")
    assert_error(clients["admin"].patch(f"/api/v2/user/{uid}", json={"role": "operator"}),
                 403, "Forbidden")
    assert_error(clients["admin"].delete(f"/api/v2/user/{uid}"), 403, "Forbidden")
    assert admin.fetch("user", uid)["role"] == "superadmin"


def test_admin_may_not_promote_to_superadmin(admin, clients):
    uid = admin.create("user", name="climber", role="operator", password=PASSWORD)
    assert_error(clients["admin"].patch(f"/api/v2/user/{uid}", json={"role": "superadmin"}),
                 403, "Forbidden")
    assert admin.fetch("user", uid)["role"] == "operator"


def test_admin_manages_users_below_superadmin(admin, clients):
    boss = clients["admin"]
    uid = boss.create("user", name="managed", role="operator", password=PASSWORD)
    assert boss.patch(f"/api/v2/user/{uid}", json={"role": "admin"}).status_code == 200
    assert boss.delete(f"/api/v2/user/{uid}").status_code == 200


def test_superadmin_creates_and_modifies_superadmins(admin):
    uid = admin.create("user", name="root-3", role="superadmin", password=PASSWORD)
    assert admin.patch(f"/api/v2/user/{uid}", json={"email": "root@example.org"}).status_code == 200
    assert admin.fetch("user", uid)["email"] == "root@example.org"
    assert admin.delete(f"/api/v2/user/{uid}").status_code == 200


def test_a_role_change_ends_the_users_login_sessions(shared_server, admin):
    c = shared_server.add_user(admin, "demoted", "operator")
    uid = c.get("/api/v2/user", params={"filter": "name:demoted"}).json()["user"][0]["id"]
    assert admin.patch(f"/api/v2/user/{uid}", json={"role": "user"}).status_code == 200
    assert_error(c.get("/api/v2/session"), 401, "Unauthenticated")
    # A role that can do nothing may not log in: it would only hold a session.
    r = requests.post(shared_server.url + "/api/system/login", timeout=30,
                      json={"username": "demoted", "password": PASSWORD})
    assert_error(r, 403, "Forbidden")


def test_a_rename_ends_the_users_login_sessions_and_other_changes_do_not(shared_server, admin):
    c = shared_server.add_user(admin, "renamed", "operator")
    uid = c.get("/api/v2/user", params={"filter": "name:renamed"}).json()["user"][0]["id"]
    assert admin.patch(f"/api/v2/user/{uid}", json={"email": "r@example.org"}).status_code == 200
    assert c.get("/api/v2/session").status_code == 200
    assert admin.patch(f"/api/v2/user/{uid}", json={"name": "renamed-2"}).status_code == 200
    assert_error(c.get("/api/v2/session"), 401, "Unauthenticated")
    assert shared_server.login("renamed-2", PASSWORD).get("/api/v2/session").status_code == 200
