"""API keys (API.md section 2): issued and revoked by an admin, usable as tokens, never expiring."""
import re

import requests

from conftest import Client, PASSWORD, assert_error


def test_admin_issues_an_api_key_that_works_as_a_token(shared_server, admin):
    uid = admin.create("user", name="keyholder", role="operator", password=PASSWORD)
    r = admin.post(f"/api/v2/user/{uid}/api_key")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"result", "api_key"}
    assert body["result"] == "success"
    assert re.fullmatch(r"[0-9a-f]{40}", body["api_key"])
    key = Client(shared_server.url, body["api_key"])
    assert key.get("/api/v2/session").status_code == 200
    # The key acts as its user: an operator may read but not create.
    assert_error(key.post("/api/v2/server", json={"name": "by-key"}), 403, "Forbidden")


def test_api_key_responses_carry_no_remaining_seconds(shared_server, admin):
    uid = admin.create("user", name="keyholder2", role="operator", password=PASSWORD)
    key = admin.post(f"/api/v2/user/{uid}/api_key").json()["api_key"]
    r = Client(shared_server.url, key).get("/api/authentication")
    assert r.status_code == 200, r.text
    assert r.json()["meta"] == {"href": "/api/authentication", "parent": "/api"}
    # A login session's answer does carry it.
    assert "remaining_seconds" in shared_server.login().get("/api/authentication").json()["meta"]


def test_api_key_works_as_bearer_but_not_as_the_session_cookie(shared_server, admin):
    """The cookie carries browser login sessions only: a key that leaked into a cookie jar, or a
    cookie planted by another site, must not act as the key."""
    uid = admin.create("user", name="keyholder3", role="operator", password=PASSWORD)
    key = admin.post(f"/api/v2/user/{uid}/api_key").json()["api_key"]
    url = shared_server.url + "/api/v2/session"
    assert requests.get(url, headers={"Authorization": "Bearer " + key}, timeout=30).status_code == 200
    assert_error(requests.get(url, cookies={"session_id": key}, timeout=30), 401,
                 "Unauthenticated")


def test_delete_revokes_the_api_key(shared_server, admin):
    uid = admin.create("user", name="revoked", role="operator", password=PASSWORD)
    key = Client(shared_server.url, admin.post(f"/api/v2/user/{uid}/api_key").json()["api_key"])
    assert key.get("/api/v2/session").status_code == 200
    r = admin.delete(f"/api/v2/user/{uid}/api_key")
    assert r.status_code == 200, r.text
    assert r.json() == {"result": "success"}
    assert_error(key.get("/api/v2/session"), 401, "Unauthenticated")
    # Nothing left to revoke.
    assert_error(admin.delete(f"/api/v2/user/{uid}/api_key"), 404, "NotFound")


def test_a_new_api_key_replaces_the_old_one(shared_server, admin):
    uid = admin.create("user", name="rotated", role="operator", password=PASSWORD)
    old = Client(shared_server.url, admin.post(f"/api/v2/user/{uid}/api_key").json()["api_key"])
    new = Client(shared_server.url, admin.post(f"/api/v2/user/{uid}/api_key").json()["api_key"])
    assert new.get("/api/v2/session").status_code == 200
    assert_error(old.get("/api/v2/session"), 401, "Unauthenticated")


def test_removing_the_user_revokes_its_api_key(shared_server, admin):
    uid = admin.create("user", name="leaver", role="operator", password=PASSWORD)
    key = Client(shared_server.url, admin.post(f"/api/v2/user/{uid}/api_key").json()["api_key"])
    assert admin.delete(f"/api/v2/user/{uid}").status_code == 200
    assert_error(key.get("/api/v2/session"), 401, "Unauthenticated")


def test_api_key_of_an_unknown_user_is_not_found(admin):
    assert_error(admin.post("/api/v2/user/12345/api_key"), 404, "NotFound")


def test_operator_may_not_issue_api_keys(shared_server, admin):
    op = shared_server.add_user(admin, "key-operator", "operator")
    uid = admin.create("user", name="key-target", role="service", password=PASSWORD)
    assert_error(op.post(f"/api/v2/user/{uid}/api_key"), 403, "Forbidden")


def test_admin_may_not_issue_a_superadmin_key(shared_server, admin):
    boss = shared_server.add_user(admin, "key-admin", "admin")
    uid = admin.create("user", name="key-super", role="superadmin", password=PASSWORD)
    assert_error(boss.post(f"/api/v2/user/{uid}/api_key"), 403, "Forbidden")
    assert admin.post(f"/api/v2/user/{uid}/api_key").status_code == 200


def test_api_key_survives_a_restart(server):
    admin = server.login()
    uid = admin.create("user", name="durable-key", role="operator", password=PASSWORD)
    key = admin.post(f"/api/v2/user/{uid}/api_key").json()["api_key"]
    server.restart()
    assert Client(server.url, key).get("/api/v2/session").status_code == 200


def test_a_new_password_revokes_the_api_key(server):
    """Whoever knew the old password may have issued the key: a new one, set over the API or with
    `audex user passwd` on a running server, revokes it."""
    admin = server.login()
    uid = admin.create("user", name="changer", role="operator", password=PASSWORD)
    key = Client(server.url, admin.post(f"/api/v2/user/{uid}/api_key").json()["api_key"])
    assert key.get("/api/v2/session").status_code == 200
    r = admin.patch(f"/api/v2/user/{uid}", json={"email": "changer@example.org"})
    assert r.status_code == 200 and key.get("/api/v2/session").status_code == 200
    assert admin.patch(f"/api/v2/user/{uid}", json={"password": "another-password"}).status_code == 200
    assert_error(key.get("/api/v2/session"), 401, "Unauthenticated")

    key = Client(server.url, admin.post(f"/api/v2/user/{uid}/api_key").json()["api_key"])
    assert key.get("/api/v2/session").status_code == 200
    result = server.cli("user", "passwd", "changer", "--password-stdin", stdin="a-third-password\n")
    assert result.returncode == 0, result.stderr
    assert_error(key.get("/api/v2/session"), 401, "Unauthenticated")
