"""Slow and many clients: stalled connections (slowloris) and thousands of idle keep-alive
connections do not delay a normal client, and the first-byte, read and idle timeouts and the
connection limits (all clients, and per client address) are enforced. AUDEX_IDLE_CONNECTIONS sets
the idle crowd (default 2,000; the full run uses 10,000). The crowds come from one address, so
those tests raise --max-connections-per-client.
"""
import os
import resource
import select
import socket
import statistics
import time

import pytest

IDLE_CONNECTIONS = int(os.environ.get("AUDEX_IDLE_CONNECTIONS", "2000"))
STALLED_CONNECTIONS = 300


@pytest.fixture(autouse=True, scope="module")
def enough_descriptors():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < IDLE_CONNECTIONS + 200:
        pytest.fail(f"the hard open file limit {hard} is below AUDEX_IDLE_CONNECTIONS")
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def connect(server, source="127.0.0.1"):
    return socket.create_connection(("127.0.0.1", server.port), timeout=30,
                                    source_address=(source, 0))


def get_request(token, path="/api/v2/session?limit=1"):
    return f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n\r\n".encode()


def read_response(s):
    """Reads one whole response with a Content-Length; returns its status."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, "connection closed before the answer"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next((int(l.split(":", 1)[1]) for l in lines if l.lower().startswith("content-length:")),
                  None)
    if length is None:  # a chunked list answer: read to the last chunk
        while not body.endswith(b"0\r\n\r\n"):
            chunk = s.recv(65536)
            assert chunk
            body += chunk
    else:
        while len(body) < length:
            chunk = s.recv(65536)
            assert chunk
            body += chunk
    return int(lines[0].split()[1])


def latencies(server, token, count=100):
    """Seconds per request of a normal keep-alive client."""
    out = []
    with connect(server) as s:
        for _ in range(count):
            started = time.monotonic()
            s.sendall(get_request(token))
            assert read_response(s) == 200
            out.append(time.monotonic() - started)
    return out


def assert_not_delayed(during, before):
    """The normal client's median stays in the same range and no request waits long."""
    p50_before, p50_during = statistics.median(before), statistics.median(during)
    assert p50_during < max(0.05, 5 * p50_before), (p50_before, p50_during)
    assert max(during) < 1.0, max(during)


def closed_by_server(s, within):
    """Waits up to `within` seconds for the server to close `s`; True if it did."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        ready, _, _ = select.select([s], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            continue
        try:
            if s.recv(65536) == b"":
                return True
        except (ConnectionResetError, TimeoutError):
            return True
    return False


def test_stalled_connections_do_not_delay_a_normal_client_and_are_cut_off(server_factory):
    server = server_factory(args=["--read-timeout", "3", "--threads", "2",
                                  "--max-connections-per-client", str(STALLED_CONNECTIONS + 10)])
    token = server.login().token
    before = latencies(server, token)
    stalled = []
    for _ in range(STALLED_CONNECTIONS):
        s = connect(server)
        s.sendall(b"GET /api/v2/session HTTP/1.1\r\nHost: x\r\n")
        stalled.append(s)
    opened = time.monotonic()
    during = []
    # Trickle one header line per connection now and then, as slowloris does, while measuring.
    for i in range(5):
        for s in stalled:
            s.sendall(f"X-Slow-{i}: a\r\n".encode())
        during += latencies(server, token, 20)
    assert time.monotonic() - opened < 3, "the measurement took longer than the read timeout"
    assert_not_delayed(during, before)
    # The read timeout counts from a request's first byte: trickling does not extend it.
    for s in stalled:
        assert closed_by_server(s, within=max(0.5, opened + 6 - time.monotonic()))
        s.close()
    assert latencies(server, token, 10)


def test_thousands_of_idle_keep_alive_connections_do_not_delay_a_normal_client(server_factory):
    server = server_factory(args=["--max-connections", str(IDLE_CONNECTIONS + 100),
                                  "--max-connections-per-client", str(IDLE_CONNECTIONS + 100),
                                  "--threads", "2"])
    token = server.login().token
    before = latencies(server, token)
    idle = []
    try:
        # Each idle connection has been served one request first, as a keep-alive client's has.
        for start in range(0, IDLE_CONNECTIONS, 500):
            batch = [connect(server) for _ in range(min(500, IDLE_CONNECTIONS - start))]
            for s in batch:
                s.sendall(get_request(token, "/api/authentication"))
            for s in batch:
                assert read_response(s) == 200
            idle += batch
        during = latencies(server, token)
        assert_not_delayed(during, before)
        # They are all still open and usable.
        for s in idle[:: max(1, len(idle) // 50)]:
            s.sendall(get_request(token))
            assert read_response(s) == 200
    finally:
        for s in idle:
            s.close()


def test_idle_timeout_closes_a_quiet_keep_alive_connection(server_factory):
    server = server_factory(args=["--idle-timeout", "1"])
    token = server.login().token
    with connect(server) as s:
        s.sendall(get_request(token))
        assert read_response(s) == 200
        started = time.monotonic()
        assert closed_by_server(s, within=5)
        assert time.monotonic() - started > 0.8
    with connect(server) as s:  # the wait for a first byte is never longer than the idle timeout
        assert closed_by_server(s, within=5)


def test_first_byte_timeout_closes_a_silent_connection_before_the_idle_timeout(server_factory):
    server = server_factory(args=["--first-byte-timeout", "1", "--idle-timeout", "30"])
    token = server.login().token
    with connect(server) as served, connect(server) as silent:
        served.sendall(get_request(token))
        assert read_response(served) == 200
        started = time.monotonic()
        assert closed_by_server(silent, within=5)
        assert 0.8 < time.monotonic() - started < 3
        # A connection that has been served waits for its next request as long as --idle-timeout.
        time.sleep(max(0.0, started + 1.5 - time.monotonic()))
        served.sendall(get_request(token))
        assert read_response(served) == 200


def test_read_timeout_closes_a_connection_that_trickles_its_request(server_factory):
    server = server_factory(args=["--read-timeout", "1", "--idle-timeout", "30"])
    with connect(server) as s:
        s.sendall(b"POST /api/v2/session HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 5:
            try:
                s.sendall(b"X: y\r\n")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if closed_by_server(s, within=0.2):
                closed = True
                break
        assert closed
        assert 0.8 < time.monotonic() - started < 3
    with connect(server) as s:  # a body that stops half way is cut off too
        s.sendall(b"POST /api/system/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                  b"\r\nContent-Length: 100\r\n\r\n{\"user")
        assert closed_by_server(s, within=4)


def served_connection(server, token, within=5):
    """A connection that has been answered once; retried while the server still counts a
    connection that the client has closed already (it frees the slot when it sees the close)."""
    deadline = time.monotonic() + within
    while True:
        s = connect(server)
        try:
            s.sendall(get_request(token))
            assert read_response(s) == 200
            return s
        except (AssertionError, ConnectionResetError, BrokenPipeError):
            s.close()
            assert time.monotonic() < deadline, "no connection slot became free"
            time.sleep(0.05)


def test_connections_over_the_limit_are_closed_at_once(server_factory):
    server = server_factory(args=["--max-connections", "20"])
    token = server.login().token
    held = []
    try:
        for _ in range(20):
            held.append(served_connection(server, token))
        for _ in range(3):
            with connect(server) as extra:
                assert closed_by_server(extra, within=2)
        for s in held:  # the ones within the limit are untouched
            s.sendall(get_request(token))
            assert read_response(s) == 200
        # A freed slot is usable again.
        held.pop().close()
        held.append(served_connection(server, token))
    finally:
        for s in held:
            s.close()


def closed_among(sockets, within):
    """The sockets among `sockets` that the server closes within `within` seconds."""
    poller, by_fd, closed = select.poll(), {s.fileno(): s for s in sockets}, set()
    for s in sockets:
        poller.register(s, select.POLLIN)
    deadline = time.monotonic() + within
    while len(closed) < len(sockets) and time.monotonic() < deadline:
        for fd, _ in poller.poll(max(0, int((deadline - time.monotonic()) * 1000))):
            s = by_fd[fd]
            try:
                ended = s.recv(1) == b""
            except (ConnectionResetError, TimeoutError):
                ended = True
            assert ended, "the server sent something to a silent connection"
            closed.add(s)
            poller.unregister(fd)
    return closed


def test_one_address_cannot_take_every_connection_slot(server_factory):
    server = server_factory(args=["--max-connections", "60", "--max-connections-per-client", "20"])
    token = server.login().token
    # More silent connections than the server has slots, all from one address.
    crowd = [connect(server, "127.0.0.2") for _ in range(80)]
    try:
        closed = closed_among(crowd, within=2)
        assert len(closed) == 60, len(closed)  # over the cap: closed as soon as accepted
        started = time.monotonic()
        with connect(server, "127.0.0.3") as other:
            other.sendall(get_request(token))
            assert read_response(other) == 200
        assert time.monotonic() - started < 1
        with connect(server, "127.0.0.2") as more:  # the crowd's address is still at its cap
            assert closed_by_server(more, within=2)
        # Once its connections go, the address is served again.
        for s in crowd:
            s.close()
        crowd = []
        deadline = time.monotonic() + 5
        while True:
            with connect(server, "127.0.0.2") as again:
                try:
                    again.sendall(get_request(token))
                    assert read_response(again) == 200
                    break
                except (AssertionError, ConnectionResetError, BrokenPipeError):
                    assert time.monotonic() < deadline, "the address stayed at its cap"
                    time.sleep(0.05)
    finally:
        for s in crowd:
            s.close()
