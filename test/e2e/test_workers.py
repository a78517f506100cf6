"""Costly work runs on the workers, off the I/O threads, under a per-request deadline; writes wait
for the store's writer without holding an I/O thread (docs/hardening.md)."""
import threading
import time

import lmdb

from conftest import PASSWORD, assert_error

N = 20000


def populate(client, n=N):
    """n sessions, made by batches of 1,000 creates."""
    for start in range(0, n, 1000):
        r = client.post("/api/v2/batch", json={"requests": [
            {"method": "POST", "endpoint": "/session",
             "data": {"protocol": "ssh", "started_at": "2022-04-05T10:00:00Z",
                      "source_port": i % 60000}}
            for i in range(start, start + 1000)]})
        assert r.status_code == 200, r.text
    return r.json()["responses"][0]["session"]["id"]


# Ordered by an attribute outside the time column, every session's audit view is read: work that
# grows with the store.
COSTLY = ("/api/audit/sessions", {"sort": "-client.port,-protocol", "limit": 1})


def test_work_past_the_deadline_answers_503_and_the_server_goes_on(server_factory):
    server = server_factory(args=["--request-deadline-ms", "10"])
    admin = server.login()
    sid = populate(admin)
    error = assert_error(admin.get(COSTLY[0], params=COSTLY[1]), 503, "SearchUnavailable")
    assert error["details"] == {"reason": "deadline", "deadline_ms": 10}
    r = admin.get(f"/api/audit/sessions/{sid}")  # on a worker too, and within its deadline
    assert r.status_code == 200 and r.json()["key"] == sid, r.text
    assert admin.fetch("session", sid)["id"] == sid


def while_costly_requests_run(admin, work):
    """Runs `work` (returning when it finished) while eight costly requests keep the workers busy;
    returns (when `work` finished, when the last costly request finished)."""
    done = {}

    def costly():
        r = admin.get(COSTLY[0], params=COSTLY[1])
        done["costly"] = (time.monotonic(), r.status_code)

    threads = [threading.Thread(target=costly) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.02)
    work()
    finished = time.monotonic()
    for t in threads:
        t.join(timeout=60)
    assert done["costly"][1] == 200
    return finished, done["costly"][0]


def test_a_costly_request_leaves_the_io_thread_free(server_factory):
    server = server_factory(args=["--threads", "1", "--workers", "1"])
    admin = server.login()
    sid = populate(admin)

    def cheap():
        for _ in range(5):
            r = admin.get(f"/api/v2/session/{sid}")
            assert r.status_code == 200, r.text

    cheap_done, costly_done = while_costly_requests_run(admin, cheap)
    assert cheap_done < costly_done  # the cheap reads did not wait for the costly ones


def test_recorders_are_not_held_up_by_auditors_searches(server_factory):
    server = server_factory(args=["--workers", "1", "--ingest-workers", "1"])
    admin = server.login()
    sid = populate(admin)
    recorder = server.add_user(admin, "recorder", "service")

    def ingest():  # content parsed and matched, and Basic credentials checked
        for i in range(5):
            r = recorder.http.post(f"{server.url}/api/v2/session/{sid}/content",
                                   auth=("recorder", PASSWORD),
                                   json=[{"type": "command", "text": f"uptime {i}",
                                          "start_time": "2022-04-05T10:00:01Z"}], timeout=30)
            assert r.status_code == 200, r.text

    ingested, costly_done = while_costly_requests_run(admin, ingest)
    assert ingested < costly_done


def test_writes_wait_for_the_store_writer_without_holding_the_io_thread(server_factory):
    server = server_factory(args=["--threads", "1"])
    admin = server.login()
    sid = admin.create("session", protocol="ssh", started_at="2022-04-05T10:00:00Z")
    env = lmdb.open(str(server.data), max_dbs=64, subdir=True, lock=True)
    written = {}
    try:
        held = env.begin(write=True)  # the store's one writer, held by this process
        try:
            def write():
                r = admin.post("/api/v2/session", json={"protocol": "rdp",
                                                        "started_at": "2022-04-05T11:00:00Z"})
                written["answer"] = r

            writer = threading.Thread(target=write)
            writer.start()
            time.sleep(0.3)
            assert "answer" not in written  # it waits for the writer...
            r = admin.get(f"/api/v2/session/{sid}")  # ...and the only I/O thread answers reads
            assert r.status_code == 200, r.text
        finally:
            held.abort()
        writer.join(timeout=30)
    finally:
        env.close()
    assert written["answer"].status_code == 200, written["answer"].text
    new = written["answer"].json()["session"]["id"]
    assert admin.fetch("session", new)["protocol"] == "rdp"
