"""The activity log: every read of audit data, every change, login and failed login is on record,
chained by SHA-256 so that `audex activity verify` finds an entry removed or edited in the store."""
import shutil
import struct
import time

import lmdb
import requests

from conftest import PASSWORD, assert_error

SESSION = {"protocol": "ssh", "started_at": "2018-01-15T12:00:00Z"}
RECORD = {"channel_id": 1, "type": "command", "text": "ls -l", "start_time": "2018-01-15T12:00:01"}


def activity(client, **params):
    r = client.get("/api/audit/activity", params=dict(params, limit=10000))
    assert r.status_code == 200, r.text
    return r.json()


def wait_for(client, count, **params):
    """The entries that `params` select, once there are at least `count` (reads are written
    within a second)."""
    deadline = time.monotonic() + 5
    while True:
        items = activity(client, **params)["items"]
        if len(items) >= count or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


def test_every_read_of_audit_data_is_on_record(server):
    admin = server.login()
    sid = admin.create("session", **SESSION)
    assert admin.post(f"/api/v2/session/{sid}/content", json=[RECORD]).status_code == 200
    reader = server.add_user(admin, "auditor", "operator")
    reads = [f"/api/v2/session/{sid}", "/api/v2/session?limit=5", "/api/audit/sessions?q=protocol:ssh",
             f"/api/audit/sessions/{sid}", f"/api/audit/sessions/{sid}/content?q=ls",
             f"/api/audit/sessions/{sid}/events", f"/api/audit/sessions/{sid}/alerts",
             "/api/audit/sessions/stats?field=protocol",
             "/api/audit/sessions/histogram?start=2018-01-15T00:00:00Z&end=2018-01-16T00:00:00Z"
             "&bin_size=hour"]
    for target in reads:
        assert reader.get(target).status_code == 200, target
    assert reader.get("/api/v2/session/1").status_code == 404
    items = wait_for(admin, len(reads) + 1, user="auditor", action="read")
    assert [e["target"] for e in items] == reads + ["/api/v2/session/1"]
    by_target = {e["target"]: e for e in items}
    assert by_target[f"/api/v2/session/{sid}"]["items"] == 1
    assert by_target["/api/v2/session?limit=5"]["items"] == 1
    assert by_target["/api/audit/sessions/stats?field=protocol"]["items"] == 1
    assert by_target[f"/api/audit/sessions/{sid}/events"]["items"] == 1
    assert by_target["/api/v2/session/1"]["status"] == 404
    assert by_target["/api/v2/session/1"]["items"] == 0
    entry = items[0]
    assert set(entry) == {"seq", "time", "user", "user_id", "client", "method", "target", "status",
                          "items", "action", "prev"}
    assert (entry["user"], entry["client"], entry["method"], entry["status"]) == (
        "auditor", "127.0.0.1", "GET", 200)
    assert entry["user_id"] == admin.ids("user", filter="name:auditor")[0]


def test_logins_and_failed_logins_are_on_record(server):
    admin = server.login()
    admin.create("user", name="recorder", role="service", password=PASSWORD)
    r = requests.post(server.url + "/api/system/login", timeout=30,
                      json={"username": "mallory", "password": "guess-one"})
    assert r.status_code == 401
    r = requests.get(server.url + "/api/authentication", timeout=30, auth=("recorder", "guess-two"))
    assert r.status_code == 401
    server.login("recorder", PASSWORD)
    failures = activity(admin, action="login_failure")["items"]
    assert [(e["user"], e["user_id"], e["target"]) for e in failures] == [
        ("mallory", None, "/api/system/login"), ("recorder", None, "/api/authentication")]
    logins = activity(admin, action="login")["items"]
    assert [e["user"] for e in logins] == ["admin", "recorder"]


def test_changes_and_exports_are_durable_before_their_answer(server):
    admin = server.login()
    sid = admin.create("session", **SESSION)
    r = admin.patch(f"/api/v2/session/{sid}", json={"reason": "checked"})
    assert r.status_code == 200
    r = admin.post(f"/api/v2/session/{sid}/content", json=[RECORD, RECORD])
    assert r.status_code == 200
    r = admin.get("/api/audit/sessions", params={"format": "csv"})
    assert r.status_code == 200
    server.kill()  # at once: no time for a flush
    server.start()
    admin = server.login()
    changes = activity(admin, action="change")["items"]
    assert [(e["method"], e["target"], e["status"], e["items"]) for e in changes] == [
        ("POST", "/api/v2/session", 200, 0), ("PATCH", f"/api/v2/session/{sid}", 200, 0),
        ("POST", f"/api/v2/session/{sid}/content", 200, 2)]
    exports = activity(admin, action="export")["items"]
    assert [(e["target"], e["items"]) for e in exports] == [("/api/audit/sessions?format=csv", 1)]


def test_the_log_is_for_admins_and_filters_and_pages(server):
    admin = server.login()
    operator = server.add_user(admin, "curious", "operator")
    assert_error(operator.get("/api/audit/activity"), 403, "Forbidden")
    for _ in range(5):
        operator.get("/api/v2/session")
    items = wait_for(admin, 7, user="curious")
    assert [(e["action"], e["status"]) for e in items] == [("login", 200), ("read", 403)] + [
        ("read", 200)] * 5
    r = admin.get("/api/audit/activity", params={"user": "curious", "limit": 2, "offset": 2})
    body = r.json()
    assert [e["seq"] for e in body["items"]] == [e["seq"] for e in items[2:4]]
    assert "user=curious" in body["meta"]["next"]
    middle = items[3]["time"]
    later = activity(admin, user="curious", start=middle)["items"]
    assert later and all(e["time"] >= middle for e in later) and len(later) < 7
    assert activity(admin, user="curious", end="2000-01-01T00:00:00Z")["items"] == []
    assert_error(admin.get("/api/audit/activity", params={"action": "sneeze"}), 400,
                 "InvalidArgument")


def open_copy(path):
    return lmdb.open(str(path), max_dbs=64, subdir=True, lock=True)


def test_verify_finds_an_entry_edited_or_removed_in_a_copy_of_the_store(server, tmp_path):
    admin = server.login()
    for _ in range(3):
        admin.create("session", **SESSION)
    server.stop()
    assert server.cli("activity", "verify").returncode == 0, server.cli("activity", "verify")

    edited = tmp_path / "edited"
    shutil.copytree(server.data, edited)
    env = open_copy(edited)
    table = env.open_db(b"activity")
    with env.begin(write=True, db=table) as txn:
        key = struct.pack(">Q", 2)
        entry = txn.get(key)
        assert b"admin" in entry
        txn.put(key, entry.replace(b"admin", b"admim"))
    env.close()

    removed = tmp_path / "removed"
    shutil.copytree(server.data, removed)
    env = open_copy(removed)
    table = env.open_db(b"activity")
    with env.begin(write=True, db=table) as txn:
        assert txn.delete(struct.pack(">Q", 3))
    env.close()

    for copy, at in ((edited, 3), (removed, 3)):
        server.data = copy
        result = server.cli("activity", "verify")
        assert result.returncode == 1, result.stdout + result.stderr
        assert f"broken at entry {at}" in result.stdout
