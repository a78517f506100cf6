"""POST /api/v2/batch (API.md section 3): per-request results, references, variables, atomic batches."""
from conftest import assert_error

STARTED = "2022-04-05 16:06:07.313862+02"


def batch(client, requests, **extra):
    return client.post("/api/v2/batch", json=dict(extra, requests=requests))


def test_non_atomic_batch_reports_each_request_and_keeps_the_successes(admin):
    before = admin.ids("session", limit=10000)
    r = batch(admin, [
        {"id": "r1", "method": "POST", "endpoint": "/session",
         "data": {"protocol": "ssh", "started_at": STARTED}},
        {"id": "r2", "method": "POST", "endpoint": "/session", "data": {"protocol": "ssh"}},
        {"id": "r3", "method": "POST", "endpoint": "/session",
         "data": {"protocol": "rdp", "started_at": STARTED}},
    ])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["result"] == "success"
    r1, r2, r3 = body["responses"]
    assert r1["id"] == "r1" and r1["result"] == "success" and r1["status"] == 200
    assert r1["session"]["id"].isdigit()
    assert r2["id"] == "r2" and r2["result"] == "error" and r2["status"] == 400
    assert r2["error"]["type"] == "InvalidArgument"
    assert r2["error"]["details"]["field"] == "started_at"
    assert r3["result"] == "success"
    after = admin.ids("session", limit=10000)
    assert after == before + [r1["session"]["id"], r3["session"]["id"]]


def test_references_to_earlier_responses(admin):
    r = batch(admin, [
        {"id": "r1", "method": "POST", "endpoint": "/session",
         "data": {"protocol": "ssh", "started_at": STARTED}},
        {"id": "r2", "method": "PATCH", "endpoint": "/session/{r1.session.id}",
         "data": {"status": "terminated", "leader_session_id": "{r1.session.id}"}},
        {"id": "r3", "method": "GET", "endpoint": "/session/{r1.session.id}"},
    ])
    assert r.status_code == 200, r.text
    r1, r2, r3 = r.json()["responses"]
    sid = r1["session"]["id"]
    assert r2["result"] == "success"
    assert r3["session"]["id"] == sid
    assert r3["session"]["status"] == "terminated"
    assert r3["session"]["leader_session_id"] == sid


def test_references_into_a_listed_array(admin):
    admin.create("server", name="batch-indexed")
    r = batch(admin, [
        {"id": "list", "method": "GET", "endpoint": "/server",
         "params": {"filter": "name:batch-indexed"}},
        {"id": "patch", "method": "PATCH", "endpoint": "/server/{list.server.0.id}",
         "data": {"address": "{list.server.0.name}.example.org"}},
    ])
    assert r.status_code == 200, r.text
    assert [x["result"] for x in r.json()["responses"]] == ["success", "success"]
    assert admin.list("server", filter="name:batch-indexed")[0]["address"] == \
        "batch-indexed.example.org"


def test_variables(admin):
    r = batch(admin, variables={"proto": "rdp", "port": 3389, "when": STARTED}, requests=[
        {"id": "a", "method": "POST", "endpoint": "/session",
         "data": {"protocol": "{proto}", "started_at": "{when}", "destination_port": "{port}"}},
    ])
    assert r.status_code == 200, r.text
    a = r.json()["responses"][0]
    assert a["result"] == "success", a
    s = admin.fetch("session", a["session"]["id"])
    assert s["protocol"] == "rdp" and s["destination_port"] == 3389
    assert s["started_at"] == "2022-04-05 14:06:07.313862+00"


def test_endpoint_may_carry_the_api_prefix_and_a_query(admin):
    admin.create("safe", name="batch-safe")
    r = batch(admin, [{"id": "q", "method": "GET",
                       "endpoint": "/api/v2/safe?filter=name:batch-safe&fields=name"}])
    assert r.status_code == 200, r.text
    assert r.json()["responses"][0]["safe"] == [{"name": "batch-safe"}]


def test_unknown_reference_fails_that_request(admin):
    r = batch(admin, [{"id": "x", "method": "GET", "endpoint": "/session/{nope.session.id}"}])
    assert r.status_code == 200, r.text
    x = r.json()["responses"][0]
    assert x["result"] == "error" and x["status"] == 400


def test_atomic_batch_with_a_failure_creates_nothing(admin):
    before_sessions = admin.list("session", limit=10000)
    before_servers = admin.list("server", limit=10000)
    r = batch(admin, atomic=True, requests=[
        {"id": "ok1", "method": "POST", "endpoint": "/session",
         "data": {"protocol": "ssh", "started_at": STARTED}},
        {"id": "ok2", "method": "POST", "endpoint": "/server", "data": {"name": "atomic-server"}},
        {"id": "bad", "method": "POST", "endpoint": "/session", "data": {"protocol": "nope"}},
    ])
    err = assert_error(r, 400, "InvalidArgument")
    assert err["details"]["request"] == "bad"
    assert admin.list("session", limit=10000) == before_sessions
    assert admin.list("server", limit=10000) == before_servers


def test_atomic_batch_rolls_back_patches_and_deletes(admin):
    sid = admin.create("session", protocol="ssh", started_at=STARTED)
    before = admin.fetch("session", sid)
    r = batch(admin, atomic=True, requests=[
        {"id": "p", "method": "PATCH", "endpoint": f"/session/{sid}", "data": {"paused": True}},
        {"id": "d", "method": "DELETE", "endpoint": f"/session/{sid}"},
        {"id": "missing", "method": "DELETE", "endpoint": "/session/42"},
    ])
    assert_error(r, 404, "NotFound")
    assert admin.fetch("session", sid) == before


def test_atomic_batch_that_succeeds_commits_everything(admin):
    r = batch(admin, atomic=True, requests=[
        {"id": "b", "method": "POST", "endpoint": "/backup", "data": {"name": "atomic-backup"}},
        {"id": "s", "method": "POST", "endpoint": "/session",
         "data": {"protocol": "ssh", "started_at": STARTED}},
        {"id": "a", "method": "POST", "endpoint": "/session/{s.session.id}/backup/{b.backup.id}"},
    ])
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["responses"]] == [200, 200, 200]
    assert admin.list("backup", filter="name:atomic-backup", fields="name") == [
        {"name": "atomic-backup"}]


def test_a_request_marked_atomic_fails_the_whole_batch(admin):
    before = admin.list("session", limit=10000)
    r = batch(admin, [
        {"id": "ok", "method": "POST", "endpoint": "/session",
         "data": {"protocol": "ssh", "started_at": STARTED}},
        {"id": "bad", "method": "POST", "endpoint": "/session", "data": {}, "atomic": True},
    ])
    assert_error(r, 400, "InvalidArgument")
    assert admin.list("session", limit=10000) == before


def test_batch_requests_respect_roles(shared_server, admin):
    op = shared_server.add_user(admin, "batch-operator", "operator")
    r = batch(op, [
        {"id": "read", "method": "GET", "endpoint": "/session", "params": {"limit": 1}},
        {"id": "write", "method": "POST", "endpoint": "/server", "data": {"name": "op-server"}},
    ])
    assert r.status_code == 200, r.text
    read, write = r.json()["responses"]
    assert read["status"] == 200
    assert write["status"] == 403 and write["error"]["type"] == "Forbidden"
    assert admin.list("server", filter="name:op-server") == []


def test_malformed_batches_are_invalid_argument(admin):
    for body in [{"requests": "no"}, {"requests": [1]}, {"requests": [], "colour": 1},
                 {"requests": [], "atomic": "yes"}, {}]:
        assert_error(admin.post("/api/v2/batch", json=body), 400, "InvalidArgument")
    r = batch(admin, [{"id": "m", "method": "PUT", "endpoint": "/session"}])
    assert r.status_code == 200, r.text
    m = r.json()["responses"][0]
    assert m["status"] == 400 and m["error"]["details"]["field"] == "method"


def test_empty_batch(admin):
    r = batch(admin, [])
    assert r.status_code == 200
    assert r.json() == {"result": "success", "responses": []}


def test_a_batch_may_append_content_to_the_session_it_creates(admin):
    r = batch(admin, [
        {"id": "s", "method": "POST", "endpoint": "/session",
         "data": {"protocol": "ssh", "started_at": STARTED}},
        {"id": "c", "method": "POST", "endpoint": "/session/{s.session.id}/content",
         "data": [{"type": "command", "text": "systemctl restart batchd",
                   "start_time": "2022-04-05T14:06:08Z"}]},
    ], atomic=True)
    assert r.status_code == 200, r.text
    s, c = r.json()["responses"]
    assert c["result"] == "success" and c["indexed"] == 1, c
    sid = s["session"]["id"]
    hits = admin.get(f"/api/audit/sessions/{sid}/content", params={"q": "batchd"}).json()["items"]
    assert len(hits) == 1


# ---- limits --------------------------------------------------------------------------------------

def test_a_batch_of_more_than_1000_requests_is_refused(admin):
    r = batch(admin, [{"method": "GET", "endpoint": "/session?limit=1"}] * 1001)
    err = assert_error(r, 400, "InvalidArgument")
    assert err["details"]["field"] == "requests" and err["details"]["limit"] == 1000
    assert batch(admin, [{"method": "GET", "endpoint": "/session?limit=1"}] * 1000).status_code == 200


def test_a_batch_whose_answers_pass_16_mib_is_refused_and_writes_nothing(shared_server, admin):
    """A small batch must not make the server build an answer of any size."""
    sid = admin.create("session", protocol="ssh", started_at=STARTED, reason="r" * (900 << 10))
    operator = shared_server.add_user(admin, "batch-reader", "operator")
    reads = [{"method": "GET", "endpoint": f"/session/{sid}"}] * 20
    err = assert_error(batch(operator, reads), 400, "InvalidArgument")
    assert err["details"]["limit"] == 16 << 20 and err["details"]["request"] == "18"
    before = admin.ids("session", limit=10000)
    created = {"id": "new", "method": "POST", "endpoint": "/session",
               "data": {"protocol": "ssh", "started_at": STARTED}}
    assert_error(batch(admin, [created] + reads), 400, "InvalidArgument")
    assert admin.ids("session", limit=10000) == before
    assert batch(operator, reads[:10]).status_code == 200
