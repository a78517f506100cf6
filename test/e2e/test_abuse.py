"""Abuse by clients that hold no credentials, or the wrong ones: nobody may make the server hold
large bodies without proving who they are, and nobody may lock another user's account."""
import http.client
import json
import socket
import time

import requests

from conftest import ADMIN_PASSWORD, PASSWORD, assert_error
from test_hostile import parse, read_answer


def raw_head(method, target, headers):
    lines = [f"{method} {target} HTTP/1.1", "Host: x", *[f"{k}: {v}" for k, v in headers.items()]]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def first_answer(server, head, body=b"", source="127.0.0.1"):
    """Sends `head` (and `body`) from `source` and returns the first answer's raw bytes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10,
                                  source_address=(source, 0)) as s:
        s.sendall(head + body)
        return read_answer(s)


# ---- bodies before authentication ---------------------------------------------------------------

def test_an_anonymous_upload_gets_no_100_continue_and_is_refused_at_once(shared_server):
    head = raw_head("POST", "/api/v2/session/1/content",
                    {"Content-Type": "application/json", "Content-Length": 64 << 20,
                     "Expect": "100-continue"})
    started = time.monotonic()
    answer = first_answer(shared_server, head)
    assert time.monotonic() - started < 2
    assert not answer.startswith(b"HTTP/1.1 100"), answer[:100]
    status, doc = parse(answer)
    assert status == 413 and doc["error"]["type"] == "PayloadTooLarge", doc
    assert doc["error"]["details"]["limit"] == 8192


def test_wrong_credentials_are_anonymous_for_the_body_limit(shared_server):
    head = raw_head("POST", "/api/v2/session",
                    {"Content-Type": "application/json", "Content-Length": 9000,
                     "Authorization": "0" * 40, "Expect": "100-continue"})
    status, doc = parse(first_answer(shared_server, head))
    assert status == 413, doc


def test_a_small_anonymous_body_is_read_and_answered_401(shared_server):
    r = requests.post(shared_server.url + "/api/v2/session", data=b"{" + b" " * 8000 + b"}",
                      headers={"Content-Type": "application/json"}, timeout=30)
    assert_error(r, 401, "Unauthenticated")


def test_an_authenticated_recorder_is_invited_to_send_its_body(shared_server, admin):
    sid = admin.create("session", protocol="ssh", started_at="2022-04-05 16:06:07+02")
    body = json.dumps([{"channel_id": 1, "type": "command", "text": "x" * (2 << 20),
                        "start_time": "2017-08-14T10:35:19"}]).encode()
    with socket.create_connection(("127.0.0.1", shared_server.port), timeout=10) as s:
        s.sendall(raw_head("POST", f"/api/v2/session/{sid}/content",
                           {"Content-Type": "application/json", "Content-Length": len(body),
                            "Authorization": admin.token, "Expect": "100-continue"}))
        interim = s.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100 Continue"), interim
        s.sendall(body)
        status, doc = parse(read_answer(s))
    assert status == 200, doc


def test_bodies_past_the_process_wide_budget_get_503(server_factory):
    s = server_factory(args=["--body-budget-mib", "1"])
    admin = s.login()
    session = {"protocol": "ssh", "started_at": "2022-04-05 16:06:07+02"}
    # One client holds 900 KiB of the 1 MiB budget by declaring them and sending a part.
    holder = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    body = json.dumps(session).encode()
    body += b" " * ((900 << 10) - len(body))
    holder.sendall(raw_head("POST", "/api/v2/session",
                            {"Content-Type": "application/json", "Content-Length": len(body),
                             "Authorization": admin.token}) + body[:1000])
    time.sleep(0.3)
    big = json.dumps(session).encode() + b" " * (200 << 10)
    r = admin.post("/api/v2/session", data=big, headers={"Content-Type": "application/json"})
    err = assert_error(r, 503, "SearchUnavailable")
    assert err["details"]["reason"] == "body_budget"
    # Small bodies still fit, and once the large one is answered its share is free again.
    assert admin.post("/api/v2/session", json=session).status_code == 200
    holder.sendall(body[1000:])
    status, _ = parse(read_answer(holder))
    holder.close()
    assert status == 200
    r = admin.post("/api/v2/session", data=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text


# ---- login throttling ---------------------------------------------------------------------------

def login_from(server, source, user, password):
    """(status, body) of a login sent from the loopback address `source`."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30,
                                      source_address=(source, 0))
    conn.request("POST", "/api/system/login", json.dumps({"username": user, "password": password}),
                 {"Content-Type": "application/json"})
    r = conn.getresponse()
    status, body = r.status, json.loads(r.read())
    conn.close()
    return status, body


def basic_from(server, source, user, password):
    answer = first_answer(server, raw_head("GET", "/api/authentication", {
        "Authorization": requests.auth._basic_auth_str(user, password)}), source=source)
    return parse(answer)


def test_wrong_passwords_from_one_client_never_lock_the_account_for_another(server):
    for _ in range(5):
        assert login_from(server, "127.0.0.2", "admin", "wrong-password")[0] == 401
    status, body = login_from(server, "127.0.0.2", "admin", ADMIN_PASSWORD)
    assert status == 429, body  # the client that failed is held off, even with the password
    status, body = login_from(server, "127.0.0.3", "admin", ADMIN_PASSWORD)
    assert status == 200, body
    status, body = basic_from(server, "127.0.0.4", "admin", ADMIN_PASSWORD)
    assert status == 200, body


def test_wrong_basic_passwords_never_lock_a_recorder_out_elsewhere(server):
    admin = server.login()
    admin.create("user", name="recorder", role="service", password=PASSWORD)
    for _ in range(5):
        assert basic_from(server, "127.0.0.5", "recorder", "wrong-password")[0] == 401
    status, body = basic_from(server, "127.0.0.5", "recorder", PASSWORD)
    assert status == 429, body
    r = requests.post(server.url + "/api/v2/session", auth=("recorder", PASSWORD), timeout=30,
                      json={"protocol": "ssh", "started_at": "2022-04-05 16:06:07+02"})
    assert r.status_code == 200, r.text


def test_a_client_guessing_many_users_is_held_off(server):
    for i in range(20):
        assert login_from(server, "127.0.0.6", f"user{i}", "wrong-password")[0] == 401
    status, body = login_from(server, "127.0.0.6", "admin", ADMIN_PASSWORD)
    assert status == 429, body
    assert body["error"]["type"] == "TooManyRequests"
    assert login_from(server, "127.0.0.7", "admin", ADMIN_PASSWORD)[0] == 200


# ---- what recorders and admins may change of a session ------------------------------------------

STARTED = "2022-04-05 16:06:07+02"
RECORD = {"channel_id": 1, "type": "command", "text": "ls", "start_time": "2022-04-05T14:06:08"}


def test_a_recorder_may_patch_only_a_sessions_state(server):
    admin = server.login()
    recorder = server.add_user(admin, "recorder", "service")
    uid = admin.create("user", name="alice", role="operator", password=PASSWORD)
    sid = recorder.create("session", protocol="ssh", started_at=STARTED, user_id=uid)
    before = admin.fetch("session", sid)
    for change in ({"user_id": "1"}, {"started_at": "2020-01-01T00:00:00Z"}, {"protocol": "rdp"},
                   {"retention_locked": True}, {"status": "terminated", "source_ip": "10.0.0.1"}):
        err = assert_error(recorder.patch(f"/api/v2/session/{sid}", json=change), 403, "Forbidden")
        assert err["details"]["field"] in change
    assert admin.fetch("session", sid) == before
    state = {"finished_at": "2022-04-05 17:06:07+02", "status": "terminated", "reason": "idle",
             "terminate_at": "2022-04-05 18:00:00+02", "paused": False, "active_time": 12,
             "size": 4096, "indexed": 2}
    r = recorder.patch(f"/api/v2/session/{sid}", json=state)
    assert r.status_code == 200, r.text
    after = admin.fetch("session", sid)
    assert after["status"] == "terminated" and after["size"] == 4096
    assert after["user_id"] == before["user_id"] and after["started_at"] == before["started_at"]


def test_only_a_superadmin_lifts_a_retention_lock(server):
    superadmin = server.login()
    admin = server.add_user(superadmin, "second-admin", "admin")
    sid = admin.create("session", protocol="ssh", started_at=STARTED, retention_locked=True)
    for change in ({"retention_locked": False}, {"retention_locked": None}):
        assert_error(admin.patch(f"/api/v2/session/{sid}", json=change), 403, "Forbidden")
    assert admin.fetch("session", sid)["retention_locked"] is True
    assert admin.patch(f"/api/v2/session/{sid}", json={"status": "terminated"}).status_code == 200
    r = superadmin.patch(f"/api/v2/session/{sid}", json={"retention_locked": False})
    assert r.status_code == 200, r.text
    assert admin.fetch("session", sid)["retention_locked"] is False


def test_content_is_closed_once_a_session_is_locked_or_past_its_grace(server_factory):
    """The grace counts from when the store learned that the session finished, not from its
    `finished_at`: an import of old recordings writes the session and then its content."""
    server = server_factory(args=["--content-grace", "2"])
    admin = server.login()
    recorder = server.add_user(admin, "recorder", "service")
    locked = recorder.create("session", protocol="ssh", started_at=STARTED, retention_locked=True)
    old = recorder.create("session", protocol="ssh", started_at=STARTED,
                          finished_at="2022-04-05 17:06:07+02")
    patched = recorder.create("session", protocol="ssh", started_at=STARTED)
    assert recorder.post(f"/api/v2/session/{old}/content", json=[RECORD]).status_code == 200
    time.sleep(2.5)
    assert recorder.post(f"/api/v2/session/{patched}/content", json=[RECORD]).status_code == 200
    r = recorder.patch(f"/api/v2/session/{patched}", json={"finished_at": STARTED})
    assert r.status_code == 200, r.text
    assert recorder.post(f"/api/v2/session/{patched}/content", json=[RECORD]).status_code == 200
    # A recorder may not reopen a session to write to it again.
    r = recorder.patch(f"/api/v2/session/{old}", json={"finished_at": None})
    assert_error(r, 403, "Forbidden")
    for sid in (locked, old):
        r = recorder.post(f"/api/v2/session/{sid}/content", json=[RECORD])
        assert_error(r, 409, "Conflict")
        r = admin.post("/api/v2/batch", json={"requests": [
            {"method": "POST", "endpoint": f"/session/{sid}/content", "data": [RECORD]}]})
        assert r.json()["responses"][0]["status"] == 409, r.text
    events = admin.get(f"/api/audit/sessions/{locked}/events").json()["items"]
    assert events == []
    events = admin.get(f"/api/audit/sessions/{old}/events").json()["items"]
    assert len(events) == 1
    assert "_finished_seen" not in admin.fetch("session", old, fields="*")
