"""Common error answers (API.md section 1): 404, 405, 415, 400 MalformedBody, 413, and no side effects."""
import json
import socket

import pytest

from conftest import assert_error

SESSION = {"protocol": "ssh", "started_at": "2022-04-05 16:06:07+02"}


@pytest.mark.parametrize("path", ["/nothing", "/api", "/api/v2/nosuch", "/api/v2/session/1/x",
                                  "/api/v2/user/1/api_key/2", "/api/v3/session"])
def test_unknown_path_is_not_found(admin, path):
    assert_error(admin.get(path), 404, "NotFound")


def test_unknown_path_without_a_token_is_a_json_error(shared_server):
    r = shared_server.anonymous().get("/favicon.ico")
    assert r.status_code in (401, 404)
    assert r.json()["result"] == "error"


@pytest.mark.parametrize("method, path, allowed", [
    ("PUT", "/api/v2/session", {"GET", "POST"}),
    ("DELETE", "/api/v2/session", {"GET", "POST"}),
    ("POST", "/api/v2/session/1", {"GET", "PATCH", "DELETE"}),
    ("GET", "/api/system/login", {"POST"}),
    ("GET", "/api/v2/batch", {"POST"}),
    ("PUT", "/api/authentication", {"GET", "DELETE"}),
])
def test_wrong_method_is_method_not_allowed_with_allow(admin, method, path, allowed):
    r = admin.request(method, path, json={} if method in ("PUT", "POST") else None)
    assert_error(r, 405, "MethodNotAllowed")
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= allowed


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml",
                                          "application/x-www-form-urlencoded"])
def test_wrong_content_type_is_unsupported_media_type(admin, content_type):
    r = admin.post("/api/v2/session", data=json.dumps(SESSION),
                   headers={"Content-Type": content_type})
    assert_error(r, 415, "UnsupportedMediaType")


def test_body_without_content_type_is_unsupported_media_type(admin):
    r = admin.post("/api/v2/session", data=json.dumps(SESSION).encode())
    assert "Content-Type" not in r.request.headers
    assert_error(r, 415, "UnsupportedMediaType")


@pytest.mark.parametrize("content_type", ["Application/JSON", "application/json; charset=utf-8",
                                          "APPLICATION/JSON;charset=UTF-8"])
def test_json_content_type_in_any_case(admin, content_type):
    r = admin.post("/api/v2/session", data=json.dumps(SESSION),
                   headers={"Content-Type": content_type})
    assert r.status_code == 200, r.text


def post_raw(admin, body):
    return admin.post("/api/v2/session", data=body, headers={"Content-Type": "application/json"})


def test_invalid_json_is_malformed_body_with_line_and_position(admin):
    body = '{\n  "protocol": "ssh",\n  oops\n}'
    err = assert_error(post_raw(admin, body), 400, "MalformedBody")
    assert err["details"]["line"] == 3
    assert isinstance(err["details"]["position"], int)
    assert body.index("oops") <= err["details"]["position"] <= body.index("oops") + 4


@pytest.mark.parametrize("body", ["", "{", '{"protocol": "ssh"} trailing', "[1,]", "nul",
                                  '{"a": "\x01"}', "\xff\xfe", "[" * 1000 + "]" * 1000])
def test_malformed_bodies_are_malformed_body(admin, body):
    err = assert_error(post_raw(admin, body.encode("latin-1")), 400, "MalformedBody")
    assert {"line", "position"} <= set(err["details"])


def test_body_over_one_mebibyte_is_payload_too_large(admin):
    filler = "x" * (1 << 20)
    r = admin.post("/api/v2/session", json=dict(SESSION, reason=filler))
    assert_error(r, 413, "PayloadTooLarge")


def test_body_just_under_the_limit_is_accepted(admin):
    filler = "x" * ((1 << 20) - 200)
    r = admin.post("/api/v2/session", json=dict(SESSION, reason=filler))
    assert r.status_code == 200, r.text
    assert len(admin.fetch("session", r.json()["session"]["id"])["reason"]) == len(filler)


def test_oversized_body_announced_by_content_length_is_refused_before_it_is_sent(shared_server,
                                                                                admin):
    with socket.create_connection(("127.0.0.1", shared_server.port), timeout=10) as s:
        s.sendall((f"POST /api/v2/session HTTP/1.1\r\nHost: x\r\nAuthorization: {admin.token}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {1 << 30}\r\n\r\n").encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_failed_requests_change_nothing(admin):
    sid = admin.create("session", **SESSION)
    before = admin.list("session", limit=10000, fields="*")
    before_servers = admin.list("server", limit=10000)
    failures = [
        admin.post("/api/v2/session", json=dict(SESSION, colour="red")),
        admin.post("/api/v2/session", json={"protocol": "ssh"}),
        admin.post("/api/v2/session", data="{", headers={"Content-Type": "application/json"}),
        admin.post("/api/v2/session", data=json.dumps(SESSION), headers={"Content-Type": "text/plain"}),
        admin.patch(f"/api/v2/session/{sid}", json={"status": "terminated", "id": "1"}),
        admin.patch(f"/api/v2/session/{sid}", json={"paused": True, "source_port": "x"}),
        admin.delete(f"/api/v2/session/{sid}", params={"force": "1"}),
        admin.post("/api/v2/server", json={"name": ""}),
        admin.post("/api/v2/batch", json={"atomic": True, "requests": [
            {"method": "POST", "endpoint": "/server", "data": {"name": "rolled-back"}},
            {"method": "POST", "endpoint": "/server", "data": {"name": "ROLLED-BACK"}}]}),
        admin.post("/api/v2/session", json=dict(SESSION, reason="x" * (1 << 20))),
    ]
    assert all(400 <= r.status_code < 500 for r in failures), [r.status_code for r in failures]
    after = admin.list("session", limit=10000, fields="*")
    # duration of a session without finished_at grows with the clock; compare the rest.
    strip = lambda items: [{k: v for k, v in i.items() if k != "duration"} for i in items]
    assert strip(after) == strip(before)
    assert admin.list("server", limit=10000) == before_servers


def test_error_answers_keep_the_connection_usable(admin):
    for _ in range(3):
        assert_error(admin.get("/api/v2/nosuch"), 404, "NotFound")
        assert admin.get("/api/v2/session", params={"limit": 1}).status_code == 200
