"""The time-partitioned store through the real server: content in the partition of its session's
month, searches across partitions, and the migration of a store written before partitions."""
import pathlib
import time
import tarfile

import lmdb

from conftest import Server, assert_error

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"


def record(kind, text, begin, start):
    return {"channel_id": 1, "type": kind, "text": text, "start_time": start,
            "record_id": {"begin": begin, "end": begin + 1, "for_screenshot": begin}}


def tables(directory):
    env = lmdb.open(str(directory), readonly=True, lock=True, max_dbs=64, subdir=True)
    try:
        with env.begin() as txn:
            return {key.decode() for key, _ in txn.cursor()}
    finally:
        env.close()


def content_hits(admin, **params):
    """The sessions a search selects: [{"id", "hits_count"}]."""
    r = admin.get("/api/audit/sessions", params=dict(params, fields="hits_count"))
    assert r.status_code == 200, r.text
    return [{"id": i["key"], "hits_count": i["body"]["hits_count"]} for i in r.json()["items"]]


def test_content_lives_in_the_partition_of_its_sessions_month(server):
    admin = server.login()
    months = {"2026-01": "2026-01-31T23:59:59Z", "2026-02": "2026-02-01T00:00:00Z"}
    sids = {}
    for month, started in months.items():
        sids[month] = admin.create("session", protocol="ssh", started_at=started)
        r = admin.post(f"/api/v2/session/{sids[month]}/content",
                       json=[record("command", f"sudo reboot {month}", 1, started[:19])])
        assert r.status_code == 200, r.text
    parts = server.data / "partitions"
    assert sorted(p.name for p in parts.iterdir()) == ["2026-01", "2026-02"]
    for month in months:
        assert "content.records" in tables(parts / month)
    assert "content.records" not in tables(server.data)
    # One search over both; a window that ends in January reads only January's partition.
    found = content_hits(admin, content="sudo")
    assert sorted(i["id"] for i in found) == sorted(sids.values())
    found = content_hits(admin, content="sudo", end="2026-01-31T23:59:59Z")
    assert [i["id"] for i in found] == [sids["2026-01"]]
    # A start moved to another month is refused: the content would be left behind.
    r = admin.patch(f"/api/v2/session/{sids['2026-01']}",
                    json={"started_at": "2026-02-02T00:00:00Z"})
    assert r.status_code == 400 and r.json()["error"]["details"]["field"] == "started_at"
    r = admin.patch(f"/api/v2/session/{sids['2026-01']}",
                    json={"started_at": "2026-01-02T00:00:00Z"})
    assert r.status_code == 200, r.text


def test_a_store_written_before_partitions_is_migrated_when_opened(tmp_path):
    with tarfile.open(FIXTURES / "single-env-store.tar.gz") as tar:
        tar.extractall(tmp_path)
    server = Server(tmp_path / "data").start()
    try:
        admin = server.login()
        # The catalog no longer holds sessions or content; each month's partition holds the
        # sessions that started in it, their content and alerts. The sessions kept their ids,
        # which name the month they were made in (2026-12): its partition holds those ids back.
        parts = server.data / "partitions"
        assert sorted(p.name for p in parts.iterdir()) == [
            "2026-09", "2026-10", "2026-11", "2026-12"]
        assert not {"content.records", "alerts", "objects.session",
                    "session.numbers"} & tables(server.data)
        for month in ("2026-09", "2026-10", "2026-11"):
            assert {"objects.session", "session.numbers", "content.records"} <= tables(
                parts / month)
        sessions = admin.list("session", fields="id,started_at,removed", limit=100)
        live = [s for s in sessions if not s.get("removed")]
        assert len(live) == 9
        # Every session's events and alerts came along, in order.
        for s in live:
            r = admin.get(f"/api/audit/sessions/{s['id']}/events")
            events = [e["psm.events.content"] for e in r.json()["items"]]
            assert len(events) == 2 and events[0].startswith("sudo systemctl restart nginx")
            r = admin.get(f"/api/audit/sessions/{s['id']}/alerts")
            assert [a["psm.alerts.rule_name"] for a in r.json()["items"]] == ["sudo"]
        # Content search across the partitions finds each session once, with its hits.
        found = content_hits(admin, content="sudo")
        assert sorted(i["id"] for i in found) == sorted(s["id"] for s in live)
        assert all(i["hits_count"] == 1 for i in found)
        found = content_hits(admin, content='"disk usage report month1"')
        assert len(found) == 3
        # Ingestion goes on into the migrated partitions; a restart migrates nothing again.
        sid = live[0]["id"]
        r = admin.post(f"/api/v2/session/{sid}/content",
                       json=[record("command", "uptime after migration", 9, "2026-09-14T11:00:00")])
        assert r.status_code == 200, r.text
        server.restart()
        admin = server.login()
        assert [i["id"] for i in content_hits(admin, content="uptime")] == [sid]
        assert len(content_hits(admin, content="sudo")) == 9
    finally:
        server.stop()


def test_the_storage_report_lists_each_partition(server):
    admin = server.login()
    sids = [admin.create("session", protocol="ssh", started_at=t)
            for t in ("2026-03-01T00:00:00Z", "2026-03-31T23:59:59Z", "2026-04-15T12:00:00Z")]
    admin.create("session", protocol="ssh", started_at="2026-05-01T00:00:00Z")  # no content
    for n, sid in enumerate(sids):
        r = admin.post(f"/api/v2/session/{sid}/content",
                       json=[record("command", f"ls {k}", k, "2026-03-01T00:00:00")
                             for k in range(n + 1)])
        assert r.status_code == 200, r.text
    r = admin.get("/api/system/storage")
    assert r.status_code == 200, r.text
    body = r.json()
    items = body["items"]
    assert [(i["name"], i["sessions"], i["records"], i["state"]) for i in items] == [
        ("2026-03", 2, 3, "open"), ("2026-04", 1, 3, "open"), ("2026-05", 1, 0, "open")]
    for i in items:
        assert i["bytes"] == (server.data / "partitions" / i["name"] / "data.mdb").stat().st_size
    assert body["meta"]["partitions"] == 3
    assert body["meta"]["catalog_bytes"] == (server.data / "data.mdb").stat().st_size
    assert body["meta"]["href"] == "/api/system/storage"
    # Admins and above; unknown parameters are refused.
    operator = server.add_user(admin, "op", "operator")
    assert_error(operator.get("/api/system/storage"), 403, "Forbidden")
    assert_error(admin.get("/api/system/storage", params={"x": "1"}), 400, "InvalidArgument")
    # The command prints the same table beside the running server.
    r = server.cli("storage")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["partition", "sessions", "records", "bytes", "state"]
    assert [line.split()[:3] for line in lines[1:4]] == [["2026-03", "2", "3"],
                                                         ["2026-04", "1", "3"],
                                                         ["2026-05", "1", "0"]]
    assert lines[4].split()[0] == "catalog"


def storage_items(admin):
    r = admin.get("/api/system/storage")
    assert r.status_code == 200, r.text
    return {i["name"]: i for i in r.json()["items"]}


def test_a_sealed_partition_is_final(server_factory):
    # Sessions take no content once the store learned they finished: sealing need not wait.
    server = server_factory(args=["--content-grace", "0", "--seal-after", "0"])
    admin = server.login()
    done = admin.create("session", protocol="ssh", started_at="2026-01-10T10:00:00Z")
    r = admin.post(f"/api/v2/session/{done}/content",
                   json=[record("command", "tar czf backup.tgz /etc", 1, "2026-01-10T10:00:01")])
    assert r.status_code == 200, r.text
    active = admin.create("session", protocol="ssh", started_at="2026-02-10T10:00:00Z")
    admin.create("session", protocol="ssh", started_at="2099-05-01T00:00:00Z")

    # What cannot be sealed yet: an active session, a month that has not ended, no partition.
    err = assert_error(admin.post("/api/system/storage/2026-01/seal"), 409, "Conflict")
    assert f"session {done} is active" in err["message"]
    err = assert_error(admin.post("/api/system/storage/2026-02/seal"), 409, "Conflict")
    assert f"session {active} is active" in err["message"]
    err = assert_error(admin.post("/api/system/storage/2099-05/seal"), 409, "Conflict")
    assert "has not ended" in err["message"]
    assert_error(admin.post("/api/system/storage/2026-03/seal"), 404, "NotFound")
    assert {i["state"] for i in storage_items(admin).values()} == {"open"}

    r = admin.patch(f"/api/v2/session/{done}", json={"finished_at": "2026-01-10T11:00:00Z"})
    assert r.status_code == 200, r.text
    r = admin.post("/api/system/storage/2026-01/seal")
    assert r.status_code == 200, r.text
    items = storage_items(admin)
    assert items["2026-01"]["state"] == "sealed" and items["2026-01"]["sealed_at"]
    assert items["2026-02"]["state"] == "open" and items["2026-02"]["sealed_at"] is None
    assert admin.post("/api/system/storage/2026-01/seal").status_code == 200  # already sealed

    # Its sessions, content and alerts are final; a legal hold still goes on and off; reads go on.
    assert_error(admin.post(f"/api/v2/session/{done}/content",
                            json=[record("command", "rm -rf /", 2, "2026-01-10T10:30:00")]),
                 409, "Conflict")
    err = assert_error(admin.patch(f"/api/v2/session/{done}", json={"reason": "rewritten"}), 409,
                       "Conflict")
    assert "partition 2026-01 is sealed" in err["message"]
    assert_error(admin.delete(f"/api/v2/session/{done}"), 409, "Conflict")
    assert_error(admin.post("/api/v2/session", json={"protocol": "ssh",
                                                     "started_at": "2026-01-20T00:00:00Z"}),
                 409, "Conflict")
    r = admin.post("/api/v2/batch", json={"requests": [
        {"id": "a", "method": "POST", "endpoint": f"session/{done}/content",
         "data": [record("command", "rm -rf /", 2, "2026-01-10T10:30:00")]}]})
    assert r.status_code == 200 and r.json()["responses"][0]["status"] == 409, r.text
    for locked in (True, False):
        r = admin.patch(f"/api/v2/session/{done}", json={"retention_locked": locked})
        assert r.status_code == 200, r.text
    assert [i["id"] for i in content_hits(admin, content="backup")] == [done]
    assert content_hits(admin, content="rm") == []
    assert admin.fetch("session", done)["finished_at"].startswith("2026-01-10 11:00:00")

    # Admins seal; only a superadmin opens a partition again.
    other = server.add_user(admin, "adm", "admin")
    assert_error(other.post("/api/system/storage/2026-01/unseal"), 403, "Forbidden")
    operator = server.add_user(admin, "op", "operator")
    assert_error(operator.post("/api/system/storage/2026-01/seal"), 403, "Forbidden")
    assert admin.post("/api/system/storage/2026-01/unseal").status_code == 200
    assert storage_items(admin)["2026-01"]["state"] == "open"
    r = admin.patch(f"/api/v2/session/{done}", json={"reason": "reviewed"})
    assert r.status_code == 200, r.text

    # The command seals beside the running server, and prints the table.
    r = server.cli("storage", "seal", "2026-01", "--content-grace", "0")
    assert r.returncode == 0, r.stderr
    assert [line.split()[-1] for line in r.stdout.splitlines()[1:3]] == ["sealed", "open"]
    assert storage_items(admin)["2026-01"]["state"] == "sealed"
    r = server.cli("storage", "seal", "2026-02", "--content-grace", "0")
    assert r.returncode != 0 and "is active" in r.stdout + r.stderr


def test_partitions_are_sealed_after_their_month_by_themselves(server_factory):
    server = server_factory(args=["--content-grace", "0", "--seal-after", "2"])
    admin = server.login()
    old = admin.create("session", protocol="ssh", started_at="2026-01-10T10:00:00Z",
                       finished_at="2026-01-10T11:00:00Z")
    admin.create("session", protocol="ssh", started_at="2026-02-10T10:00:00Z")  # active
    # A month that ended long ago, but written just now: not sealed while it is being written.
    server.restart()  # the server looks at start, then every minute
    admin = server.login()
    assert storage_items(admin)["2026-01"]["state"] == "open"
    time.sleep(2.5)
    server.restart()
    admin = server.login()
    deadline = time.monotonic() + 20
    while storage_items(admin)["2026-01"]["state"] != "sealed" and time.monotonic() < deadline:
        time.sleep(0.1)
    items = storage_items(admin)
    assert items["2026-01"]["state"] == "sealed"
    assert items["2026-02"]["state"] == "open"
    assert_error(admin.delete(f"/api/v2/session/{old}"), 409, "Conflict")
