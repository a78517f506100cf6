"""Hostile input over raw sockets: malformed HTTP, bad encodings and deep nesting each get a 4xx
with a catalogue JSON error (or a closed connection), never a crash or a hang, and the server
keeps answering afterwards."""
import json
import socket
import time

import pytest

from conftest import assert_error

SESSION = {"protocol": "ssh", "started_at": "2022-04-05 16:06:07+02"}
CATALOGUE = {e["type"]: e["status"] for e in json.load(
    open(__import__("conftest").REPO / "schemas" / "errors.json"))["errors"]}


def exchange(server, data, timeout=10, close_write=False):
    """Sends `data` on a fresh connection and reads until the server closes it or one answer with
    a Content-Length is complete; returns the raw bytes received (b"" for a bare close)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        try:
            s.sendall(data)
            if close_write:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close as soon as it has seen enough; read its answer anyway
        return read_answer(s)


def read_answer(s):
    answer = b""
    while True:
        head, sep, body = answer.partition(b"\r\n\r\n")
        if sep:
            length = [line.split(b":", 1)[1] for line in head.split(b"\r\n")[1:]
                      if line.lower().startswith(b"content-length:")]
            if length and len(body) >= int(length[0]):
                return answer
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return answer
        if not chunk:
            return answer
        answer += chunk


def parse(answer):
    """(status, JSON body) of a raw answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n")[0].decode("ascii")
    assert status_line.startswith("HTTP/1."), answer[:200]
    status = int(status_line.split()[1])
    headers = {line.split(b":", 1)[0].strip().lower(): line.split(b":", 1)[1].strip()
               for line in head.split(b"\r\n")[1:]}
    assert headers[b"content-type"].startswith(b"application/json"), answer[:300]
    return status, json.loads(body.decode("utf-8"))  # strict: the answer itself is valid UTF-8


def assert_refused(answer, status=None, error_type=None):
    """A 4xx with a catalogue error body, or (when allowed by the caller passing status=None) a
    closed connection."""
    if status is None and answer == b"":
        return None
    code, body = parse(answer)
    assert 400 <= code < 500, answer[:300]
    assert body["result"] == "error", body
    assert CATALOGUE[body["error"]["type"]] == code, body
    if status is not None:
        assert code == status, body
    if error_type is not None:
        assert body["error"]["type"] == error_type, body
    return body["error"]


@pytest.fixture(autouse=True)
def still_serving(shared_server, admin):
    """After every hostile request the same process answers a normal one."""
    yield
    assert shared_server.proc.poll() is None, shared_server.log()[-4000:]
    assert admin.get("/api/v2/session", params={"limit": 1}).status_code == 200


def request(target, token, method="GET", headers=(), body=b""):
    lines = [f"{method} {target} HTTP/1.1", "Host: x", f"Authorization: {token}",
             "Connection: close", *headers]
    if body or method in ("POST", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body


# ---- the HTTP layer

@pytest.mark.parametrize("data", [
    b"\x00\xff\xfe\x01garbage\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) * 4,  # a TLS hello
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    b"GET / HTTP/x.y\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nBad\x00Name: y\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n  folded\r\n\r\n",
    b"GET / HTTP/1.1\nHost: x\n\n",
    b"G\xc3\x89T / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n",
])
def test_garbage_is_refused(shared_server, data):
    assert_refused(exchange(shared_server, data))


def test_random_bytes_are_refused(shared_server):
    import random
    rng = random.Random(5)
    for _ in range(20):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
        assert_refused(exchange(shared_server, data, close_write=True))


@pytest.mark.parametrize("what", ["one long header", "many headers", "long target"])
def test_oversized_header_is_refused(shared_server, admin, what):
    extra, target = [], "/api/v2/session"
    if what == "one long header":
        extra = ["X-Filler: " + "a" * 20000]
    elif what == "many headers":
        extra = [f"X-Filler-{i}: abcdefgh" for i in range(2000)]
    else:
        target += "?filter=" + "a" * 20000
    err = assert_refused(exchange(shared_server, request(target, admin.token, headers=extra)),
                         400, "InvalidArgument")
    assert err["details"]["field"] == "header"


def test_endless_header_is_refused_without_reading_it_all(shared_server, admin):
    """A header that never ends is cut off at the limit; the server does not wait for the rest."""
    with socket.create_connection(("127.0.0.1", shared_server.port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nX-Endless: " + b"a" * 32768)
        started = time.monotonic()
        answer = read_answer(s)
    assert time.monotonic() - started < 5
    assert_refused(answer, 400, "InvalidArgument")


def post_with_length(admin, lengths, body=b'{"protocol": "ssh"}'):
    head = [f"POST /api/v2/session HTTP/1.1", "Host: x", f"Authorization: {admin.token}",
            "Content-Type: application/json", "Connection: close"]
    head += [f"Content-Length: {n}" for n in lengths]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@pytest.mark.parametrize("lengths", [
    ["-1"], ["-0"], ["+19"], ["0x13"], ["19.0"], ["1 9"], ["abc"], [""],
    ["99999999999999999999999999"], ["18446744073709551616"],
    ["19", "20"], ["19, 20"], ["20", "19"],
])
def test_bad_content_length_is_refused(shared_server, admin, lengths):
    err = assert_refused(exchange(shared_server, post_with_length(admin, lengths)), 400,
                         "InvalidArgument")
    assert err["details"]["field"] == "request"


@pytest.mark.parametrize("length", [str(1 << 62), "18446744073709551615"])
def test_huge_content_length_is_payload_too_large(shared_server, admin, length):
    assert_refused(exchange(shared_server, post_with_length(admin, [length])), 413,
                   "PayloadTooLarge")


def test_duplicate_equal_content_length_is_one_length_or_refused(shared_server, admin):
    """RFC 9110 lets a recipient accept repeated identical lengths; either way nothing odd."""
    body = json.dumps(SESSION).encode()
    answer = exchange(shared_server, post_with_length(admin, [len(body), len(body)], body))
    status, doc = parse(answer)
    assert status in (200, 400), doc
    if status == 400:
        assert doc["error"]["type"] == "InvalidArgument"


def chunked_post(admin, chunks, extra=()):
    head = ["POST /api/v2/session HTTP/1.1", "Host: x", f"Authorization: {admin.token}",
            "Content-Type: application/json", "Connection: close", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + chunks


@pytest.mark.parametrize("transfer, chunks", [
    (["Transfer-Encoding: chunked"], b"zz\r\n{}\r\n0\r\n\r\n"),
    (["Transfer-Encoding: chunked"], b"ffffffffffffffffffff\r\n{}\r\n0\r\n\r\n"),
    (["Transfer-Encoding: chunked"], b"2\r\n{}XX0\r\n\r\n"),
    (["Transfer-Encoding: chunked"], b"-2\r\n{}\r\n0\r\n\r\n"),
    (["Transfer-Encoding: chunked"], b"2;\x01\r\n{}\r\n0\r\n\r\n"),
    (["Transfer-Encoding: chunked"], b"2\r\n{}\r\n0\r\nBad Trailer\r\n\r\n"),
    (["Transfer-Encoding: chunked", "Content-Length: 2"], b"2\r\n{}\r\n0\r\n\r\n"),
    (["Transfer-Encoding: gzip"], b"{}"),
    (["Transfer-Encoding: chunked, gzip"], b"2\r\n{}\r\n0\r\n\r\n"),
    (["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"], b"2\r\n{}\r\n0\r\n\r\n"),
])
def test_broken_chunked_encoding_is_refused(shared_server, admin, transfer, chunks):
    """Refused by the transport (InvalidArgument on "request"), never read as some other body."""
    err = assert_refused(exchange(shared_server, chunked_post(admin, chunks, transfer)), 400,
                         "InvalidArgument")
    assert err["details"]["field"] == "request"


def test_truncated_chunked_body_closes(shared_server, admin):
    data = chunked_post(admin, b"100\r\n{\"pro", ["Transfer-Encoding: chunked"])
    assert exchange(shared_server, data, close_write=True) == b""


def test_oversized_chunked_body_is_refused_while_it_arrives(shared_server, admin):
    """A chunked body has no declared length: it is cut off at the limit, not read to its end."""
    with socket.create_connection(("127.0.0.1", shared_server.port), timeout=10) as s:
        s.sendall(chunked_post(admin, b"", ["Transfer-Encoding: chunked"]))
        chunk = b"%x\r\n" % 65536 + b"a" * 65536 + b"\r\n"
        try:
            for _ in range(17):  # one chunk more than the 1 MiB limit
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        started = time.monotonic()
        answer = read_answer(s)
    assert time.monotonic() - started < 5
    assert_refused(answer, 413, "PayloadTooLarge")


@pytest.mark.parametrize("expect", [False, True])
def test_body_over_the_limit_is_refused_before_it_is_sent(shared_server, admin, expect):
    """The 413 comes back while the client still holds the whole body: the server never waits
    for it (with Expect: 100-continue it does not invite it either)."""
    head = ["POST /api/v2/session HTTP/1.1", "Host: x", f"Authorization: {admin.token}",
            "Content-Type: application/json", f"Content-Length: {(1 << 20) + 1}"]
    if expect:
        head.append("Expect: 100-continue")
    with socket.create_connection(("127.0.0.1", shared_server.port), timeout=10) as s:
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b'{"protocol": ')
        started = time.monotonic()
        answer = read_answer(s)
        waited = time.monotonic() - started
    assert not answer.startswith(b"HTTP/1.1 100"), answer[:100]
    assert waited < 1.5, waited
    assert_refused(answer, 413, "PayloadTooLarge")


# ---- encodings

def test_invalid_utf8_in_a_json_body_is_malformed_body(shared_server, admin):
    for bad in [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80"]:
        body = b'{"protocol": "ssh", "reason": "' + bad + b'"}'
        data = request("/api/v2/session", admin.token, "POST",
                       ["Content-Type: application/json"], body)
        assert_refused(exchange(shared_server, data), 400, "MalformedBody")


@pytest.mark.parametrize("target", [
    "/api/v2/session/%FF", "/api/v2/%C3%28", "/api/v2/session?filter=%FF",
    "/api/v2/session?filter=protocol:%FF%FE", "/api/v2/session?%FF=1",
    "/api/v2/session?fields=%ED%A0%80", "/api/audit/sessions/%FF/content?q=x",
    "/api/audit/sessions/1/content?q=%C0%AF",
])
def test_invalid_utf8_in_paths_and_queries_is_refused(shared_server, admin, target):
    err = assert_refused(exchange(shared_server, request(target, admin.token)), 400,
                         "InvalidArgument")
    assert err["details"]["field"] == "target"


def test_raw_non_ascii_bytes_in_the_target_are_refused(shared_server, admin):
    data = request("/api/v2/session", admin.token).replace(b"session", b"sess\xffion", 1)
    assert_refused(exchange(shared_server, data), 400)


@pytest.mark.parametrize("target", [
    "/api/v2/session?filter=%ZZ", "/api/v2/session?filter=%", "/api/v2/session?filter=%4",
    "/api/v2/%G0", "/api/v2/session/%", "/api/v2/session?limit=%%31",
])
def test_bad_percent_encoding_is_refused(shared_server, admin, target):
    err = assert_refused(exchange(shared_server, request(target, admin.token)), 400,
                         "InvalidArgument")
    assert err["details"]["field"] == "target"


def test_an_invalid_utf8_header_is_not_echoed_as_invalid_json(shared_server, admin):
    data = request("/api/v2/session", admin.token, "POST", ["Content-Type: text/\xff\xfe"],
                   b"{}")
    assert_refused(exchange(shared_server, data), 415, "UnsupportedMediaType")


# ---- nesting

@pytest.mark.parametrize("depth", [65, 1000, 100000])
def test_deeply_nested_json_is_malformed_body(shared_server, admin, depth):
    for body in [b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth]:
        data = request("/api/v2/session", admin.token, "POST",
                       ["Content-Type: application/json"], body)
        assert_refused(exchange(shared_server, data), 400, "MalformedBody")


def test_deeply_nested_json_in_a_batch_and_in_content_is_malformed_body(shared_server, admin):
    sid = admin.create("session", **SESSION)
    deep = b"[" * 100000 + b"]" * 100000
    for path, content_type in [("/api/v2/batch", "application/json"),
                               (f"/api/v2/session/{sid}/content", "application/json"),
                               (f"/api/v2/session/{sid}/content", "application/x-ndjson")]:
        data = request(path, admin.token, "POST", [f"Content-Type: {content_type}"], deep)
        assert_refused(exchange(shared_server, data), 400, "MalformedBody")


def nested(depth, inner="protocol:ssh"):
    return "(" * depth + inner + ")" * depth


# The whole request head must fit in 16 KiB, which bounds how deep a query can be sent at all.
@pytest.mark.parametrize("query", [
    nested(5000), nested(5000, "a OR b"), "(" * 5000, ")" * 5000,
    "p:(" * 3000 + "ssh" + ")" * 3000, "NOT " * 2000 + "protocol:ssh",
    "-" * 5000 + "protocol:ssh", " OR ".join(["a"] * 1100),
], ids=["parentheses", "parenthesised-or", "unclosed", "unopened", "field-groups", "not-chain",
        "minus-chain", "too-many-clauses"])
def test_deeply_nested_filter_is_refused(shared_server, admin, query):
    target = "/api/v2/session?filter=" + query.replace(" ", "%20")
    assert_refused(exchange(shared_server, request(target, admin.token)), 400,
                   "InvalidQueryValue")


def test_deeply_nested_content_query_is_refused(shared_server, admin):
    sid = admin.create("session", **SESSION)
    for query in [nested(5000, "ls"), "(" * 5000, "t:(" * 3000 + "ls" + ")" * 3000]:
        target = f"/api/audit/sessions/{sid}/content?q=" + query
        assert_refused(exchange(shared_server, request(target, admin.token)), 400,
                       "InvalidQueryValue")


def test_nesting_within_the_limit_still_works(admin):
    assert admin.get("/api/v2/session", params={"filter": nested(100)}).status_code == 200
    assert_error(admin.get("/api/v2/session", params={"filter": nested(101)}), 400,
                 "InvalidQueryValue")


# ---- many at once

def test_a_burst_of_hostile_connections_leaves_the_server_serving(shared_server, admin):
    payloads = [b"\xff" * 100, post_with_length(admin, ["-1"]), b"GET / HTTP/1.1\r\nX: " +
                b"a" * 20000, request("/api/v2/%ZZ", admin.token),
                request("/api/v2/session?filter=" + nested(5000), admin.token)]
    sockets = []
    for i in range(200):
        s = socket.create_connection(("127.0.0.1", shared_server.port), timeout=10)
        try:
            s.sendall(payloads[i % len(payloads)])
        except OSError:
            pass
        sockets.append(s)
    for s in sockets:
        with s:
            assert_refused(read_answer(s))
