"""Authentication (API.md section 2): login, /api/authentication, token forms, logout, expiry, throttling."""
import base64
import os
import re
import subprocess
import time

import pytest
import requests

from conftest import ADMIN_PASSWORD, BINARY, Client, assert_error

TOKEN = re.compile(r"^[0-9a-f]{40}$")


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def login(server, body, **kw):
    return requests.post(server.url + "/api/system/login", json=body, verify=False, timeout=30, **kw)


# ---- login ---------------------------------------------------------------------------------------

def test_login_returns_a_40_hex_token(shared_server):
    r = login(shared_server, {"username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["result"] == "success"
    assert TOKEN.match(body["sessionid"])
    assert set(body) == {"result", "sessionid"}


def test_login_tokens_differ_per_login(shared_server):
    a = login(shared_server, {"username": "admin", "password": ADMIN_PASSWORD}).json()["sessionid"]
    b = login(shared_server, {"username": "admin", "password": ADMIN_PASSWORD}).json()["sessionid"]
    assert a != b


def test_login_with_a_wrong_password_is_authentication_failure(server):
    r = login(server, {"username": "admin", "password": "not-the-password"})
    assert_error(r, 401, "AuthenticationFailure")


def test_login_of_an_unknown_user_is_authentication_failure(server):
    r = login(server, {"username": "nobody", "password": ADMIN_PASSWORD})
    assert_error(r, 401, "AuthenticationFailure")


def test_login_without_a_password_is_invalid_argument(shared_server):
    err = assert_error(login(shared_server, {"username": "admin"}), 400, "InvalidArgument")
    assert err["details"]["field"] == "password"


def test_login_with_a_non_string_password_is_invalid_argument(shared_server):
    r = login(shared_server, {"username": "admin", "password": 12345678})
    assert_error(r, 400, "InvalidArgument")


def test_login_with_invalid_json_is_malformed_body(shared_server):
    r = requests.post(shared_server.url + "/api/system/login", data='{"username": "admin",',
                      headers={"Content-Type": "application/json"}, timeout=30)
    assert_error(r, 400, "MalformedBody")


def test_login_with_a_form_body_is_unsupported_media_type(shared_server):
    r = requests.post(shared_server.url + "/api/system/login",
                      data={"username": "admin", "password": ADMIN_PASSWORD}, timeout=30)
    assert_error(r, 415, "UnsupportedMediaType")


# ---- GET /api/authentication ---------------------------------------------------------------------

def test_authentication_with_basic_sets_the_session_cookie(shared_server):
    r = requests.get(shared_server.url + "/api/authentication", timeout=30,
                     headers={"Authorization": basic("admin", ADMIN_PASSWORD)})
    assert r.status_code == 200, r.text
    cookie = r.headers["Set-Cookie"]
    m = re.fullmatch(r"session_id=([0-9a-f]{40}); Path=/; HttpOnly; SameSite=Strict", cookie)
    assert m, cookie
    assert r.json() == {"meta": {"href": "/api/authentication", "parent": "/api",
                                 "remaining_seconds": 600}}
    # The cookie's token is a login session like any other.
    assert Client(shared_server.url, m.group(1)).get("/api/v2/session").status_code == 200


def test_authentication_with_a_wrong_basic_password_is_authentication_failure(server):
    r = requests.get(server.url + "/api/authentication", timeout=30,
                     headers={"Authorization": basic("admin", "wrong-password")})
    assert_error(r, 401, "AuthenticationFailure")


def test_authentication_without_credentials_is_unauthenticated(shared_server):
    r = requests.get(shared_server.url + "/api/authentication", timeout=30)
    assert_error(r, 401, "Unauthenticated")


def test_authentication_with_a_token_reports_its_own_session(shared_server, admin):
    r = admin.get("/api/authentication")
    assert r.status_code == 200
    assert r.json()["meta"]["remaining_seconds"] == 600
    assert r.headers["Set-Cookie"].startswith(f"session_id={admin.token};")


# ---- the four ways to present credentials --------------------------------------------------------

def test_token_as_raw_authorization_header(shared_server, admin):
    r = requests.get(shared_server.url + "/api/v2/session", timeout=30,
                     headers={"Authorization": admin.token})
    assert r.status_code == 200, r.text


def test_token_as_bearer_authorization_header(shared_server, admin):
    r = requests.get(shared_server.url + "/api/v2/session", timeout=30,
                     headers={"Authorization": "Bearer " + admin.token})
    assert r.status_code == 200, r.text


def test_token_as_session_id_cookie(shared_server, admin):
    r = requests.get(shared_server.url + "/api/v2/session", timeout=30,
                     cookies={"session_id": admin.token})
    assert r.status_code == 200, r.text


def test_basic_credentials_on_the_request_itself(shared_server):
    r = requests.get(shared_server.url + "/api/v2/session", timeout=30,
                     headers={"Authorization": basic("admin", ADMIN_PASSWORD)})
    assert r.status_code == 200, r.text


def test_no_token_is_unauthenticated(shared_server):
    assert_error(requests.get(shared_server.url + "/api/v2/session", timeout=30),
                 401, "Unauthenticated")


def test_unknown_token_is_unauthenticated(shared_server):
    for token in ["0" * 40, "Bearer " + "f" * 40, "not a token at all"]:
        r = requests.get(shared_server.url + "/api/v2/session", timeout=30,
                         headers={"Authorization": token})
        assert_error(r, 401, "Unauthenticated")
    r = requests.get(shared_server.url + "/api/v2/session", timeout=30,
                     cookies={"session_id": "a" * 40})
    assert_error(r, 401, "Unauthenticated")


# ---- ending a session ----------------------------------------------------------------------------

def test_delete_authentication_ends_the_session(shared_server):
    c = shared_server.login()
    assert c.get("/api/v2/session").status_code == 200
    r = c.delete("/api/authentication")
    assert r.status_code == 200, r.text
    assert_error(c.get("/api/v2/session"), 401, "Unauthenticated")


def test_logout_ends_the_session(shared_server):
    c = shared_server.login()
    other = shared_server.login()
    r = c.post("/api/system/logout")
    assert r.status_code == 200, r.text
    assert r.json() == {"result": "success"}
    assert_error(c.get("/api/v2/session"), 401, "Unauthenticated")
    # Only that session ends.
    assert other.get("/api/v2/session").status_code == 200


def test_logout_with_a_json_body_ends_the_session(shared_server):
    c = shared_server.login()
    assert c.post("/api/system/logout", json={}).status_code == 200
    assert_error(c.get("/api/v2/session"), 401, "Unauthenticated")


def test_logout_without_a_token_is_unauthenticated(shared_server):
    assert_error(shared_server.anonymous().post("/api/system/logout", json={}),
                 401, "Unauthenticated")


# ---- idle expiry ---------------------------------------------------------------------------------

def test_session_expires_after_the_idle_timeout(server_factory):
    s = server_factory(session_timeout=2)
    c = s.login()
    r = c.get("/api/authentication")
    assert r.json()["meta"]["remaining_seconds"] == 2
    time.sleep(1.2)
    assert c.get("/api/v2/session").status_code == 200  # resets the idle timer
    time.sleep(1.2)
    assert c.get("/api/v2/session").status_code == 200  # 2.4 s after login, 1.2 s idle
    time.sleep(2.6)
    assert_error(c.get("/api/v2/session"), 401, "Unauthenticated")


# ---- throttling ----------------------------------------------------------------------------------

def test_repeated_wrong_passwords_are_throttled(server):
    for _ in range(5):
        r = login(server, {"username": "admin", "password": "wrong-password"})
        assert_error(r, 401, "AuthenticationFailure")
    r = login(server, {"username": "admin", "password": "wrong-password"})
    assert_error(r, 429, "TooManyRequests")
    assert int(r.headers["Retry-After"]) >= 1
    # Even the right password is refused while locked.
    r = login(server, {"username": "admin", "password": ADMIN_PASSWORD})
    assert_error(r, 429, "TooManyRequests")
    assert int(r.headers["Retry-After"]) >= 1


def test_basic_credentials_are_throttled_too(server):
    for _ in range(5):
        r = requests.get(server.url + "/api/authentication", timeout=30,
                         headers={"Authorization": basic("admin", "wrong-password")})
        assert_error(r, 401, "AuthenticationFailure")
    r = requests.get(server.url + "/api/authentication", timeout=30,
                     headers={"Authorization": basic("admin", ADMIN_PASSWORD)})
    assert_error(r, 429, "TooManyRequests")
    assert "Retry-After" in r.headers


# ---- first start ---------------------------------------------------------------------------------

def test_first_start_without_a_password_writes_initial_admin_password(server_factory):
    s = server_factory(admin_password=None)
    path = s.data / "initial-admin-password"
    assert path.exists() and not path.is_symlink()
    assert path.stat().st_mode & 0o777 == 0o600
    password = path.read_text().strip()
    assert len(password) >= 8
    c = s.login("admin", password)
    assert c.get("/api/v2/session").status_code == 200
    # The log names the file, never the password.
    assert f"its password is in {path}" in s.log()
    assert password not in s.log()
    s.restart()
    assert password not in s.log()


@pytest.mark.parametrize("planted", ["symlink to a file", "dangling symlink", "file"])
def test_first_start_refuses_a_planted_initial_admin_password_file(server_factory, tmp_path,
                                                                    planted):
    """Whoever can write the data directory before the first start must not get the password: a
    symbolic link (to a file they read, or to one they will) is not followed, an existing file is
    not overwritten. The server refuses to start and creates no admin."""
    s = server_factory(admin_password=None, start=False)
    path = s.data / "initial-admin-password"
    target = tmp_path / "stolen"
    if planted == "symlink to a file":
        target.write_text("planted\n")
        path.symlink_to(target)
    elif planted == "dangling symlink":
        path.symlink_to(target)
    else:
        path.write_text("planted\n")
        path.chmod(0o644)
    with pytest.raises(RuntimeError, match="exited with 1"):
        s.start()
    s.proc = None  # exited: nothing to stop
    assert (f"{path} exists (a file or a symbolic link) but the store has no users: remove it "
            "and start again, or set AUDEX_ADMIN_PASSWORD") in s.log()
    if planted == "dangling symlink":
        assert not target.exists()
    elif planted == "symlink to a file":
        assert target.read_text() == "planted\n"
    else:
        assert path.read_text() == "planted\n"
    # Once it is gone, the next start creates the admin and a file of its own.
    path.unlink()
    s.start()
    assert not path.is_symlink() and path.stat().st_mode & 0o777 == 0o600
    assert s.login("admin", path.read_text().strip()).get("/api/v2/session").status_code == 200


# ---- AUDEX_PASSWORD_COST ---------------------------------------------------------------------------

MINIMUM_COST_WARNING = "AUDEX_PASSWORD_COST=minimum: password hashes are cheap to crack"


def test_the_minimum_password_cost_is_refused_off_loopback(tmp_path):
    data = tmp_path / "data"
    env = dict(os.environ, AUDEX_PASSWORD_COST="minimum", AUDEX_ADMIN_PASSWORD=ADMIN_PASSWORD)
    for listen in ["0.0.0.0:0", "[::]:0"]:
        r = subprocess.run([BINARY, "serve", "--data", str(data), "--listen", listen, "--plain"],
                           env=env, capture_output=True, text=True, timeout=30)
        assert r.returncode == 1
        assert (f"AUDEX_PASSWORD_COST=minimum is for tests on a loopback address, not --listen "
                f"{listen}: unset it") in r.stdout + r.stderr
    r = subprocess.run([BINARY, "serve", "--data", str(data), "--plain"],
                       env=dict(env, AUDEX_PASSWORD_COST="cheap"), capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1
    assert "AUDEX_PASSWORD_COST must be 'minimum' or unset, not 'cheap'" in r.stdout + r.stderr
    # Refused before the store was opened.
    assert not data.exists() or list(data.iterdir()) == []


def test_the_minimum_password_cost_warns_at_every_start(server):
    assert server.log().count(MINIMUM_COST_WARNING) == 1
    server.restart()
    assert server.log().count(MINIMUM_COST_WARNING) == 2


def test_restart_keeps_the_admin_password_and_ends_login_sessions(server):
    c = server.login()
    server.restart()
    c.base = server.url
    assert_error(c.get("/api/v2/session"), 401, "Unauthenticated")
    assert server.login().get("/api/v2/session").status_code == 200
