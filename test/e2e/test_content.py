"""Content ingestion (JSON and NDJSON), content search and events through the real server."""
import pytest

from conftest import assert_error

RECORDS = [
    {"channel_id": 5, "type": "command", "text": "myuser@examplehost:~$ man iptables",
     "start_time": "2017-08-14T10:35:19.098", "end_time": "2017-08-14T10:35:43.957",
     "record_id": {"begin": 158, "end": 160, "for_screenshot": 158}},
    {"channel_id": 5, "type": "screen", "text": "root@host:~# cat /etc/shadow\nping 10.0.0.1",
     "start_time": "2017-08-14T10:36:00", "end_time": "2017-08-14T10:36:05",
     "record_id": {"begin": 161, "end": 170, "for_screenshot": 165}},
    {"channel_id": 0, "type": "window_title", "text": "Terminal - nginx.service",
     "start_time": "2017-08-14T10:37:00", "record_id": {"begin": 171, "end": 171, "for_screenshot": 171}},
]


@pytest.fixture(scope="module")
def content_session(shared_server):
    admin = shared_server.login()
    sid = admin.create("session", protocol="ssh", started_at="2017-08-14T10:35:00Z")
    r = admin.post(f"/api/v2/session/{sid}/content", json=RECORDS[:2])
    assert r.status_code == 200, r.text
    assert r.json() == {"result": "success", "indexed": 2}
    import json
    r = admin.post(f"/api/v2/session/{sid}/content", data=json.dumps(RECORDS[2]) + "\n",
                   headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    assert r.json()["indexed"] == 1
    return admin, sid


def search(admin, sid, q):
    r = admin.get(f"/api/audit/sessions/{sid}/content", params={"q": q})
    assert r.status_code == 200, r.text
    return r.json()


def test_content_hit_has_the_seed_shape(content_session):
    admin, sid = content_session
    body = search(admin, sid, "iptables")
    assert len(body["items"]) == 1
    item = body["items"][0]
    assert set(item) == {"psm.channel.id", "end_time", "rank", "record_id", "start_time", "trail_id"}
    assert item["psm.channel.id"] == 5
    assert item["start_time"] == "2017-08-14T10:35:19.098000"
    assert item["end_time"] == "2017-08-14T10:35:43.957000"
    assert item["record_id"] == {"begin": 158, "end": 160, "for_screenshot": 158}
    assert isinstance(item["trail_id"], str) and item["trail_id"].isdigit()
    assert item["rank"] > 0
    assert body["meta"]["href"] == f"/api/audit/sessions/{sid}/content"
    assert body["meta"]["parent"] == f"/api/audit/sessions/{sid}"
    assert body["meta"]["remaining_seconds"] == 600


@pytest.mark.parametrize("q,begins", [
    ("iptables", [158]), ('"man iptables"', [158]), ('"/etc/shadow"', [161]),
    ("10.0.0.1", [161]), ("nginx", [171]), ("ngin*", [171]), ("shadow OR iptables", None),
    ("iptables AND shadow", []), ('"iptables man"', []), ("10.0.0.2", []),
])
def test_finds_what_the_session_showed(content_session, q, begins):
    admin, sid = content_session
    got = [i["record_id"]["begin"] for i in search(admin, sid, q)["items"]]
    if begins is None:
        assert sorted(got) == [158, 161]
    else:
        assert got == begins


def test_empty_or_missing_q_gives_no_items(content_session):
    admin, sid = content_session
    assert search(admin, sid, "")["items"] == []
    r = admin.get(f"/api/audit/sessions/{sid}/content")
    assert r.status_code == 200 and r.json()["items"] == []


@pytest.mark.parametrize("q", ["*tables", "iptables AND (", "protocol:ssh"])
def test_bad_content_queries_are_invalid_query_values(content_session, q):
    admin, sid = content_session
    r = admin.get(f"/api/audit/sessions/{sid}/content", params={"q": q})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "InvalidQueryValue"
    assert "meta" in r.json()


def test_events_list_commands_and_window_titles(content_session):
    admin, sid = content_session
    r = admin.get(f"/api/audit/sessions/{sid}/events")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert items == [
        {"psm.channels.id": 5, "psm.events.content": "myuser@examplehost:~$ man iptables",
         "psm.events.record_id": 158, "psm.events.time": "2017-08-14T10:35:19.098000",
         "psm.events.type": "adp.event.command"},
        {"psm.channels.id": 0, "psm.events.content": "Terminal - nginx.service",
         "psm.events.record_id": 171, "psm.events.time": "2017-08-14T10:37:00.000000",
         "psm.events.type": "adp.event.screen.windowtitle"},
    ]
    page = admin.get(f"/api/audit/sessions/{sid}/events", params={"limit": 1, "offset": 1}).json()
    assert [i["psm.events.record_id"] for i in page["items"]] == [171]
    assert page["meta"]["previous"] == f"/api/audit/sessions/{sid}/events?limit=1&offset=0"
    assert page["meta"]["next"] is None
    assert page["meta"]["last"] == f"/api/audit/sessions/{sid}/events?limit=1&offset=1"


def test_bad_records_change_nothing(content_session):
    admin, sid = content_session
    bad = [dict(RECORDS[0], text="unique-marker-word"), {"type": "command", "start_time": "2017-01-01"}]
    r = admin.post(f"/api/v2/session/{sid}/content", json=bad)
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "InvalidArgument"
    assert r.json()["error"]["details"]["field"] == "1.text"
    assert search(admin, sid, "unique-marker-word")["items"] == []
    r = admin.post(f"/api/v2/session/{sid}/content", data='{"type": "command"\nnot json\n',
                   headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "MalformedBody"
    assert r.json()["error"]["details"]["line"] == 1


def test_unknown_and_removed_sessions(shared_server):
    admin = shared_server.login()
    r = admin.post("/api/v2/session/12345/content", json=RECORDS[:1])
    assert r.status_code == 404 and r.json()["error"]["type"] == "NotFound"
    sid = admin.create("session", protocol="ssh", started_at="2020-01-01T00:00:00Z")
    assert admin.post(f"/api/v2/session/{sid}/content", json=RECORDS[:1]).status_code == 200
    assert admin.delete(f"/api/v2/session/{sid}").status_code == 200
    r = admin.post(f"/api/v2/session/{sid}/content", json=RECORDS[:1])
    assert r.status_code == 409 and r.json()["error"]["type"] == "Conflict"
    r = admin.get(f"/api/audit/sessions/{sid}/content", params={"q": "iptables"})
    assert r.status_code == 404


def test_content_survives_a_crash(server_factory):
    s = server_factory()
    admin = s.login()
    sid = admin.create("session", protocol="ssh", started_at="2020-01-01T00:00:00Z")
    assert admin.post(f"/api/v2/session/{sid}/content", json=RECORDS).status_code == 200
    s.kill()
    s.start()
    admin = s.login()
    assert len(search(admin, sid, "iptables")["items"]) == 1


def test_ocred_after_screen_content(content_session):
    admin, sid = content_session
    assert admin.fetch("session", sid, fields="ocred")["ocred"] is True
    other = admin.create("session", protocol="ssh", started_at="2017-08-14T10:35:00Z")
    for records, ocred in ((RECORDS[:1], False), (RECORDS[1:2], True), (RECORDS[1:2], True)):
        r = admin.post(f"/api/v2/session/{other}/content", json=records)
        assert r.status_code == 200, r.text
        assert admin.fetch("session", other, fields="ocred")["ocred"] is ocred


def test_concurrent_ingests_are_all_acknowledged_and_searchable(server_factory):
    """Concurrent requests share group commits; each one's records are searchable once it is
    answered, and a failing request (a removed session) fails alone."""
    from concurrent.futures import ThreadPoolExecutor
    s = server_factory()
    admin = s.login()
    sids = [admin.create("session", protocol="ssh", started_at="2020-01-01T00:00:00Z")
            for _ in range(4)]
    removed = admin.create("session", protocol="ssh", started_at="2020-01-01T00:00:00Z")
    assert admin.delete(f"/api/v2/session/{removed}").status_code == 200

    def ingest(n):
        sid = removed if n % 10 == 9 else sids[n % 4]
        record = dict(RECORDS[0], text=f"echo marker{n}")
        r = admin.post(f"/api/v2/session/{sid}/content", json=[record])
        if sid != removed:
            assert r.status_code == 200, r.text
            hits = search(admin, sid, f"marker{n}")["items"]
            assert len(hits) == 1, (n, hits)
        else:
            assert r.status_code == 409, r.text
        return n

    with ThreadPoolExecutor(16) as pool:
        assert sorted(pool.map(ingest, range(80))) == list(range(80))
    for i, sid in enumerate(sids):
        events = admin.get(f"/api/audit/sessions/{sid}/events").json()["items"]
        expected = {f"echo marker{n}" for n in range(80) if n % 4 == i and n % 10 != 9}
        assert {e["psm.events.content"] for e in events} == expected


def partition(data_dir, month="2020-01"):
    """The directory of a month's partition (its LMDB environment)."""
    return data_dir / "partitions" / month


def stored_records(data_dir, sid):
    """The numbers of a session of January 2020's records, from its runs in its partition's
    content.by_session table read straight from LMDB (read-only, beside the running server)."""
    import lmdb
    import struct
    env = lmdb.open(str(partition(data_dir)), readonly=True, lock=True, max_dbs=64, subdir=True)
    try:
        table = env.open_db(b"content.by_session", create=False)
        prefix = struct.pack(">Q", int(sid))
        with env.begin(db=table) as txn:
            cursor = txn.cursor()
            found = []
            if cursor.set_range(prefix):
                for key, value in cursor:
                    if not key.startswith(prefix):
                        break
                    first, = struct.unpack(">I", key[8:])
                    count, = struct.unpack(">I", value) if value else (1,)
                    found.extend(range(first, first + count))
            return found
    finally:
        env.close()


@pytest.mark.parametrize("how", ["delete", "batch"])
def test_a_removed_sessions_content_is_purged(server_factory, how):
    import time
    s = server_factory()
    admin = s.login()
    sid = admin.create("session", protocol="ssh", started_at="2020-01-01T00:00:00Z")
    assert admin.post(f"/api/v2/session/{sid}/content", json=RECORDS).status_code == 200
    assert len(stored_records(s.data, sid)) == len(RECORDS)
    if how == "delete":
        assert admin.delete(f"/api/v2/session/{sid}").status_code == 200
    else:
        r = admin.post("/api/v2/batch", json={"requests": [
            {"id": "d", "method": "DELETE", "endpoint": f"/session/{sid}"}]})
        assert r.status_code == 200 and r.json()["responses"][0]["status"] == 200, r.text
    deadline = time.monotonic() + 10
    while stored_records(s.data, sid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored_records(s.data, sid) == []


def test_content_bodies_have_their_own_larger_limit(shared_server):
    admin = shared_server.login()
    sid = admin.create("session", protocol="ssh", started_at="2020-01-01T00:00:00Z")
    big = [dict(RECORDS[0], text="x" * 1000 + f" bulk{n}") for n in range(3000)]  # about 3.4 MB
    r = admin.post(f"/api/v2/session/{sid}/content", json=big)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["indexed"] == 3000
    # Other routes keep the 1 MiB limit.
    r = admin.post("/api/v2/session", json={"protocol": "ssh", "reason": "x" * (2 << 20)})
    assert r.status_code == 413 and r.json()["error"]["type"] == "PayloadTooLarge"


def segment_count(data_dir):
    """How many segments the content index of January 2020 has, read straight from LMDB beside
    the server."""
    import lmdb
    env = lmdb.open(str(partition(data_dir)), readonly=True, lock=True, max_dbs=64, subdir=True)
    try:
        table = env.open_db(b"content.segments", create=False)
        with env.begin(db=table) as txn:
            return txn.stat(table)["entries"]
    finally:
        env.close()


def test_segments_are_merged_in_the_background(server_factory):
    """Each request adds a segment; the server merges them while it goes on answering, and the
    answers after the merges and after a crash are the same."""
    import time
    s = server_factory()
    admin = s.login()
    sid = admin.create("session", protocol="ssh", started_at="2020-01-01T00:00:00Z")
    for n in range(40):
        records = [dict(RECORDS[0], text=f"common echo marker{n}x{k}",
                        record_id={"begin": n * 10 + k, "end": n * 10 + k}) for k in range(5)]
        assert admin.post(f"/api/v2/session/{sid}/content", json=records).status_code == 200
    deadline = time.monotonic() + 10
    while segment_count(s.data) >= 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert segment_count(s.data) < 40

    def check():
        assert len(search(admin, sid, "common")["items"]) == 200
        for n in (0, 17, 39):
            items = search(admin, sid, f"marker{n}x3")["items"]
            assert [i["record_id"]["begin"] for i in items] == [n * 10 + 3]

    check()
    s.kill()
    s.start()
    admin = s.login()
    check()


@pytest.mark.parametrize("offset,status", [("10000", 200), ("10001", 400), ("1000000", 400)])
def test_a_content_search_offset_is_capped(content_session, offset, status):
    """The search ranks a session's hits and keeps offset + limit of them: the offset is capped
    at 10,000, like the session search's."""
    admin, sid = content_session
    r = admin.get(f"/api/audit/sessions/{sid}/content", params={"q": "iptables", "offset": offset})
    if status == 200:
        assert r.status_code == 200, r.text
        assert r.json()["items"] == []
    else:
        assert assert_error(r, 400, "InvalidArgument")["details"]["field"] == "offset"


def test_a_fuzzy_term_finds_words_within_its_distance(content_session):
    admin, sid = content_session
    for q, begins in [("iptablse~2", [158]), ("iptablse~1", []), ("ngnix~2", [171]),
                      ("shadwo~1", [])]:
        r = admin.get(f"/api/audit/sessions/{sid}/content", params={"q": q})
        assert r.status_code == 200, r.text
        assert [i["record_id"]["begin"] for i in r.json()["items"]] == begins, q


def test_a_partition_that_numbered_all_its_records_refuses_content_with_503(server_factory):
    import lmdb
    import struct
    s = server_factory()
    admin = s.login()
    sid = admin.create("session", protocol="ssh", started_at="2020-01-01T00:00:00Z")
    other = admin.create("session", protocol="ssh", started_at="2020-02-01T00:00:00Z")
    s.stop()
    env = lmdb.open(str(partition(s.data)), max_dbs=64, subdir=True, lock=True)
    try:
        with env.begin(write=True, db=env.open_db(b"content.stats")) as txn:
            txn.put(b"next_record", struct.pack(">Q", 0xffffffff - 2))
    finally:
        env.close()
    s.start()
    admin = s.login()
    assert admin.post(f"/api/v2/session/{sid}/content", json=RECORDS[:2]).status_code == 200
    error = assert_error(admin.post(f"/api/v2/session/{sid}/content", json=RECORDS[2:]), 503,
                         "SearchUnavailable")
    assert error["details"] == {"reason": "record_numbers", "limit": 0xffffffff}
    assert "2020-01" in error["message"]
    assert len(search(admin, sid, "iptables")["items"]) == 1
    assert search(admin, sid, "nginx")["items"] == []
    assert admin.fetch("session", sid)["id"] == sid  # the rest of the store goes on
    # Another month's partition numbers its own records.
    assert admin.post(f"/api/v2/session/{other}/content", json=RECORDS).status_code == 200
