"""The API over TLS (API.md sections 1, 2): self-signed certificate, Secure cookie, the same API."""
import base64
import re
import ssl
import socket

import pytest
import requests

from conftest import ADMIN_PASSWORD, Server, assert_error


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("tls") / "data", plain=False).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def admin(tls_server):
    return tls_server.login()


def test_a_self_signed_certificate_is_created_in_the_data_directory(tls_server):
    files = sorted(p.name for p in (tls_server.data / "tls").iterdir())
    assert files, "no files in <data>/tls"
    pem = ssl.get_server_certificate(("127.0.0.1", tls_server.port))
    assert "BEGIN CERTIFICATE" in pem


def test_the_certificate_is_kept_across_restarts(tmp_path):
    s = Server(tmp_path / "data", plain=False).start()
    try:
        first = ssl.get_server_certificate(("127.0.0.1", s.port))
        s.restart()
        assert ssl.get_server_certificate(("127.0.0.1", s.port)) == first
    finally:
        s.stop()


def test_url_is_https(tls_server):
    assert tls_server.url.startswith("https://")


def test_login_and_crud_over_tls(admin):
    sid = admin.create("session", protocol="rdp", started_at="2022-04-05 16:06:07.313862+02")
    assert admin.fetch("session", sid)["started_at"] == "2022-04-05 14:06:07.313862+00"
    assert admin.patch(f"/api/v2/session/{sid}", json={"status": "approved"}).status_code == 200
    assert sid in admin.ids("session")
    assert admin.delete(f"/api/v2/session/{sid}").json() == {"result": "success"}
    assert_error(admin.get(f"/api/v2/session/{sid}"), 404, "NotFound")


def test_authentication_cookie_is_secure_under_tls(tls_server):
    auth = "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
    r = requests.get(tls_server.url + "/api/authentication", headers={"Authorization": auth},
                     verify=False, timeout=30)
    assert r.status_code == 200, r.text
    assert re.fullmatch(r"session_id=[0-9a-f]{40}; Path=/; HttpOnly; SameSite=Strict; Secure",
                        r.headers["Set-Cookie"]), r.headers["Set-Cookie"]
    assert r.json()["meta"]["remaining_seconds"] == 600


def test_errors_over_tls(admin):
    assert_error(admin.get("/api/v2/nosuch"), 404, "NotFound")
    assert_error(admin.post("/api/v2/session", data="{", headers={"Content-Type": "application/json"}),
                 400, "MalformedBody")


def test_an_answer_over_16_kb_arrives_whole_over_tls(admin):
    # A batch answer is written in one piece, not streamed; TLS records hold at most 16 KB.
    requests_ = [{"method": "POST", "endpoint": "/session",
                  "data": {"protocol": "ssh", "started_at": "2022-04-05T10:00:00Z"}}
                 for _ in range(200)]
    r = admin.post("/api/v2/batch", json={"requests": requests_})
    assert r.status_code == 200
    assert "Transfer-Encoding" not in r.headers
    assert int(r.headers["Content-Length"]) == len(r.content) > 16 * 1024
    assert len(r.json()["responses"]) == 200


def test_large_list_is_streamed_over_tls(admin):
    requests_ = [{"method": "POST", "endpoint": "/session",
                  "data": {"protocol": "ssh", "started_at": "2022-04-05T10:00:00Z"}}
                 for _ in range(300)]
    assert admin.post("/api/v2/batch", json={"requests": requests_}).status_code == 200
    r = admin.get("/api/v2/session", params={"limit": 10000})
    assert r.headers.get("Transfer-Encoding") == "chunked"
    assert len(r.json()["session"]) >= 300


def test_plain_http_on_the_tls_port_gets_no_api_answer(tls_server):
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=10) as s:
        s.sendall(b"GET /api/v2/session HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            answer = s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            answer = b""
    assert b"\"result\"" not in answer
