"""Scoped access: a user's `scope`, a query over the audit view, limits every read of session data
to the sessions it selects; a session outside it is 404, never 403, in every endpoint."""
import csv
import io

import pytest

from conftest import PASSWORD, assert_error

SCOPE = "server.name:db* AND protocol:(ssh OR telnet)"
STARTED = "2018-01-15T12:00:00Z"
RECORD = {"channel_id": 1, "type": "command", "text": "cat /etc/scopeword",
          "start_time": "2018-01-15T12:00:01"}


@pytest.fixture(scope="module")
def world(shared_server, admin):
    """Sessions in and out of SCOPE, each with a content record, and scoped users."""
    db = admin.create("server", name="db-scope-1")
    web = admin.create("server", name="web-scope-1")
    inside = admin.create("session", protocol="ssh", started_at=STARTED, server_id=db)
    outside = [admin.create("session", protocol="rdp", started_at=STARTED, server_id=db),
               admin.create("session", protocol="ssh", started_at=STARTED, server_id=web),
               admin.create("session", protocol="telnet", started_at=STARTED)]
    for sid in [inside, *outside]:
        r = admin.post(f"/api/v2/session/{sid}/content", json=[RECORD])
        assert r.status_code == 200, r.text
    clients = {}
    for role in ("operator", "admin"):
        name = f"scoped-{role}"
        admin.create("user", name=name, role=role, password=PASSWORD, scope=SCOPE)
        clients[role] = shared_server.login(name, PASSWORD)
    return {"inside": inside, "outside": outside, "all": [inside, *outside], **clients}


def audit_keys(client, **params):
    r = client.get("/api/audit/sessions", params=params)
    assert r.status_code == 200, r.text
    return [item["key"] for item in r.json()["items"]]


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_lists_hold_only_sessions_in_scope(world, role):
    c = world[role]
    inside = world["inside"]
    assert c.ids("session", limit=10000) == [inside]
    assert c.ids("session", filter="protocol:rdp OR protocol:ssh", limit=10000) == [inside]
    assert c.ids("session", order="-started_at", limit=10000) == [inside]
    assert audit_keys(c) == [inside]
    assert audit_keys(c, q="protocol:rdp") == []
    assert audit_keys(c, content="scopeword") == [inside]
    r = c.get("/api/audit/sessions", params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(r.text)))
    assert [row[0] for row in rows[1:]] == [inside]


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_aggregations_count_only_sessions_in_scope(world, admin, role):
    c = world[role]
    r = c.get("/api/audit/sessions/stats", params={"field": "protocol"})
    assert r.status_code == 200, r.text
    assert r.json()["items"] == [{"count": 1, "value": "ssh"}]
    params = {"start": "2018-01-15T11:00:00Z", "end": "2018-01-15T13:00:00Z", "bin_size": "hour"}
    counts = [b["start_count"] for b in
              c.get("/api/audit/sessions/histogram", params=params).json()["body"]["buckets"]]
    assert sum(counts) == 1
    everything = [b["start_count"] for b in
                  admin.get("/api/audit/sessions/histogram", params=params).json()["body"]["buckets"]]
    assert sum(everything) >= 4


READS = {
    "v2 get": lambda c, s: c.get(f"/api/v2/session/{s}"),
    "v2 get fields": lambda c, s: c.get(f"/api/v2/session/{s}", params={"fields": "*"}),
    "audit view": lambda c, s: c.get(f"/api/audit/sessions/{s}"),
    "content": lambda c, s: c.get(f"/api/audit/sessions/{s}/content", params={"q": "scopeword"}),
    "events": lambda c, s: c.get(f"/api/audit/sessions/{s}/events"),
    "alerts": lambda c, s: c.get(f"/api/audit/sessions/{s}/alerts"),
}


@pytest.mark.parametrize("role", ["operator", "admin"])
@pytest.mark.parametrize("read", list(READS))
def test_a_session_outside_the_scope_is_404(world, role, read):
    c = world[role]
    assert READS[read](c, world["inside"]).status_code == 200
    for sid in world["outside"]:
        assert_error(READS[read](c, sid), 404, "NotFound")


def test_a_batch_reads_within_the_scope_too(world):
    c = world["operator"]
    r = c.post("/api/v2/batch", json={"requests": [
        {"method": "GET", "endpoint": f"/session/{sid}"} for sid in world["all"]]})
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["responses"]] == [200, 404, 404, 404]


def test_a_scoped_admin_writes_only_sessions_in_scope(world, admin):
    c = world["admin"]
    target = world["outside"][1]
    before = admin.fetch("session", target)
    assert_error(c.patch(f"/api/v2/session/{target}", json={"status": "terminated"}), 404,
                 "NotFound")
    assert_error(c.post(f"/api/v2/session/{target}/content", json=[RECORD]), 404, "NotFound")
    backup = admin.create("backup", name="scope-backup")
    assert_error(c.post(f"/api/v2/session/{target}/backup/{backup}"), 404, "NotFound")
    assert_error(c.delete(f"/api/v2/session/{target}"), 404, "NotFound")
    assert admin.fetch("session", target) == before
    inside = world["inside"]
    assert c.patch(f"/api/v2/session/{inside}", json={"reason": "in scope"}).status_code == 200


def test_a_scoped_admin_manages_no_users(world):
    c = world["admin"]
    assert_error(c.post("/api/v2/user", json={"name": "escaper", "role": "operator",
                                              "password": PASSWORD}), 403, "Forbidden")


def test_nobody_changes_their_own_scope(shared_server, admin):
    uid = admin.ids("user", filter="name:admin")[0]
    err = assert_error(admin.patch(f"/api/v2/user/{uid}", json={"scope": "protocol:ssh"}), 403,
                       "Forbidden")
    assert "own scope" in err["message"]
    assert "scope" not in admin.fetch("user", uid)


def test_a_scope_must_be_a_valid_query(admin):
    for scope, error in (("protocol:(ssh", "InvalidQueryValue"),
                         ("no_such_field:x", "InvalidArgument"), ("", "InvalidArgument")):
        r = admin.post("/api/v2/user", json={"name": "bad-scope", "role": "operator",
                                             "password": PASSWORD, "scope": scope})
        err = assert_error(r, 400, error)
        assert err["details"]["field"] == "scope"


def test_a_new_scope_ends_the_users_login_sessions_and_applies_at_once(shared_server, admin,
                                                                       world):
    uid = admin.create("user", name="rescoped", role="operator", password=PASSWORD)
    c = shared_server.login("rescoped", PASSWORD)
    assert len(c.ids("session", limit=10000)) >= 4
    r = admin.patch(f"/api/v2/user/{uid}", json={"scope": SCOPE})
    assert r.status_code == 200, r.text
    assert_error(c.get("/api/v2/session"), 401, "Unauthenticated")
    c = shared_server.login("rescoped", PASSWORD)
    assert c.ids("session", limit=10000) == [world["inside"]]
    assert admin.patch(f"/api/v2/user/{uid}", json={"scope": None}).status_code == 200
    c = shared_server.login("rescoped", PASSWORD)
    assert len(c.ids("session", limit=10000)) >= 4
