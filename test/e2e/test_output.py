"""What every answer carries whoever writes it (handler, stream or transport): Cache-Control:
no-store and X-Content-Type-Options: nosniff."""
import pytest

from conftest import assert_error
from test_hostile import exchange


def assert_output_headers(headers):
    assert headers.get("Cache-Control") == "no-store", headers
    assert headers.get("X-Content-Type-Options") == "nosniff", headers


def raw_answer(server, request):
    """The status and the headers of the server's answer to raw request bytes."""
    head = exchange(server, request).partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        assert name not in headers, f"{name} twice"
        headers[name] = value.strip()
    return int(head[0].split(" ")[1]), headers


def test_json_answers_are_not_stored_nor_sniffed(shared_server, admin):
    sid = admin.create("session", protocol="ssh", started_at="2022-04-05T10:00:00Z")
    for r in (admin.get(f"/api/v2/session/{sid}"), admin.get("/api/authentication"),
              admin.post("/api/v2/batch", json={"requests": [
                  {"method": "GET", "endpoint": f"/session/{sid}"}]})):
        assert r.status_code == 200, r.text
        assert "Transfer-Encoding" not in r.headers
        assert_output_headers(r.headers)
    # A login answer holds a token.
    r = shared_server.anonymous().post("/api/system/login",
                                       json={"username": "admin",
                                             "password": shared_server.admin_password})
    assert r.status_code == 200
    assert_output_headers(r.headers)


def test_streamed_lists_are_not_stored_nor_sniffed(admin):
    for path, params in (("/api/v2/session", {}),
                         ("/api/audit/sessions", {"format": "csv"})):
        r = admin.get(path, params=params)
        assert r.status_code == 200, r.text
        assert r.headers.get("Transfer-Encoding") == "chunked"
        assert_output_headers(r.headers)


def test_handler_errors_are_not_stored_nor_sniffed(shared_server, admin):
    for r in (admin.get("/api/v2/nosuch"), admin.get("/api/audit/sessions/1")):
        assert_error(r, 404, "NotFound")
        assert_output_headers(r.headers)
    r = shared_server.anonymous().get("/api/v2/session")
    assert r.status_code == 401
    assert_output_headers(r.headers)


@pytest.mark.parametrize("request_bytes,status", [
    (b"GARBAGE\r\n\r\n", 400),  # a bad request line
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 20000 + b"\r\n\r\n", 400),  # header limit
    (b"POST /api/system/login HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", 413),
    (b"POST /api/v2/session HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
])
def test_transport_errors_are_not_stored_nor_sniffed(shared_server, request_bytes, status):
    got, headers = raw_answer(shared_server, request_bytes)
    assert got == status
    assert headers["Server"] == "audex"
    assert_output_headers(headers)

