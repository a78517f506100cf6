"""Object API v2 CRUD (API.md section 3) for every model: create, get, list, patch, delete, removed."""
import contextlib
import itertools
import re

import lmdb
import pytest
import requests

from conftest import PASSWORD, assert_error

_n = itertools.count()


def unique(prefix):
    return f"{prefix}-{next(_n)}"


# What to create and what to change, per model.
MODELS = {
    "session": (lambda: {"protocol": "ssh", "started_at": "2022-04-05 16:06:07.313862+02",
                         "source_ip": "10.2.0.0", "source_port": 65331},
                {"status": "terminated", "finished_at": "2022-04-05T14:07:58.65701Z"}),
    "user": (lambda: {"name": unique("user"), "role": "operator", "password": PASSWORD,
                      "organization": "Acme"},
             {"email": "someone@example.org"}),
    "account": (lambda: {"name": unique("account"), "description": "root on db1"},
                {"description": "root on db2"}),
    "server": (lambda: {"name": unique("server"), "address": "db1.example.org"},
               {"address": "db2.example.org"}),
    "safe": (lambda: {"name": unique("safe")}, {"description": "the finance safe"}),
    "listener": (lambda: {"name": unique("listener"), "protocol": "rdp", "address": "10.0.0.5",
                          "port": 3389},
                 {"port": 3390}),
    "backup": (lambda: {"name": unique("backup"), "target": "nfs://backup/audex"},
               {"description": "nightly"}),
    "content_policy": (lambda: {"name": unique("policy"), "rules": [
                           {"name": "rm", "event_type": "command", "match": ["rm -rf"],
                            "ignore": [], "store_alert": True}]},
                       {"rules": [{"name": "shadow", "event_type": "screen.content",
                                   "match": ["/etc/shadow"], "store_alert": False}]}),
}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?\+00$")


def without_secrets(attrs):
    return {k: v for k, v in attrs.items() if k != "password"}


@pytest.mark.parametrize("model", MODELS)
def test_create_answers_the_new_id(admin, model):
    r = admin.post(f"/api/v2/{model}", json=MODELS[model][0]())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body.keys() == {"result", model} and body["result"] == "success"
    assert body[model].keys() == {"id"}
    assert re.fullmatch(r"\d+", body[model]["id"])


@pytest.mark.parametrize("model", MODELS)
def test_get_returns_what_was_created(admin, model):
    attrs = MODELS[model][0]()
    oid = admin.create(model, **attrs)
    r = admin.get(f"/api/v2/{model}/{oid}")
    assert r.status_code == 200
    body = r.json()
    assert body.keys() == {"result", model} and body["result"] == "success"
    got = body[model]
    assert got["id"] == oid
    assert TIMESTAMP.match(got["created_at"]) and TIMESTAMP.match(got["modified_at"])
    assert "password" not in got
    assert "removed" not in got
    for key, value in without_secrets(attrs).items():
        if key not in ("started_at", "finished_at"):
            assert got[key] == value, key


@pytest.mark.parametrize("model", MODELS)
def test_list_contains_the_created_object(admin, model):
    oid = admin.create(model, **MODELS[model][0]())
    r = admin.get(f"/api/v2/{model}", params={"limit": 10000})
    assert r.status_code == 200
    body = r.json()
    assert body.keys() == {"result", model} and body["result"] == "success"
    assert isinstance(body[model], list)
    assert oid in [o["id"] for o in body[model]]


@pytest.mark.parametrize("model", MODELS)
def test_patch_changes_the_object(admin, model):
    attrs, change = MODELS[model][0](), MODELS[model][1]
    oid = admin.create(model, **attrs)
    r = admin.patch(f"/api/v2/{model}/{oid}", json=change)
    assert r.status_code == 200, r.text
    assert r.json()["result"] == "success"
    got = admin.fetch(model, oid)
    for key, value in change.items():
        if key != "finished_at":
            assert got[key] == value, key
    for key, value in without_secrets(attrs).items():
        if key not in change and key != "started_at":
            assert got[key] == value, key


@pytest.mark.parametrize("model", MODELS)
def test_delete_removes_the_object(admin, model):
    oid = admin.create(model, **MODELS[model][0]())
    r = admin.delete(f"/api/v2/{model}/{oid}")
    assert r.status_code == 200, r.text
    assert r.json() == {"result": "success"}
    assert_error(admin.get(f"/api/v2/{model}/{oid}"), 404, "NotFound")
    assert oid not in admin.ids(model, limit=10000)
    removed = admin.list(model, filter="removed:true", limit=10000)
    assert oid in [o["id"] for o in removed]
    assert all(o["removed"] is True for o in removed)
    # A second delete finds nothing.
    assert_error(admin.delete(f"/api/v2/{model}/{oid}"), 404, "NotFound")


@pytest.mark.parametrize("model", MODELS)
def test_unknown_id_is_not_found(admin, model):
    assert_error(admin.get(f"/api/v2/{model}/42"), 404, "NotFound")
    assert_error(admin.patch(f"/api/v2/{model}/42", json=MODELS[model][1]), 404, "NotFound")
    assert_error(admin.delete(f"/api/v2/{model}/42"), 404, "NotFound")


def test_non_numeric_id_is_not_found(admin):
    assert_error(admin.get("/api/v2/session/abc"), 404, "NotFound")


def test_ids_are_unique_and_increasing(admin):
    ids = [int(admin.create("server", name=unique("order"))) for _ in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5


def test_default_list_order_is_id_ascending(admin):
    created = [admin.create("safe", name=unique("asc")) for _ in range(3)]
    ids = admin.ids("safe", limit=10000)
    positions = [ids.index(i) for i in created]
    assert positions == sorted(positions)
    assert [int(i) for i in ids] == sorted(int(i) for i in ids)


def test_removed_filter_false_lists_live_objects_only(admin):
    live = admin.create("safe", name=unique("live"))
    dead = admin.create("safe", name=unique("dead"))
    admin.delete(f"/api/v2/safe/{dead}")
    ids = admin.ids("safe", filter="removed:false", limit=10000)
    assert live in ids and dead not in ids


def test_user_password_is_never_shown(admin):
    uid = admin.create("user", name=unique("secret"), role="operator", password=PASSWORD)
    assert "password" not in admin.fetch("user", uid, fields="*")
    assert all("password" not in u for u in admin.list("user", fields="*"))
    assert_error(admin.get("/api/v2/user", params={"fields": "password"}), 400, "InvalidArgument")


def test_patched_password_is_the_new_login_password(shared_server, admin):
    name = unique("pw")
    uid = admin.create("user", name=name, role="operator", password=PASSWORD)
    assert admin.patch(f"/api/v2/user/{uid}", json={"password": "another-password"}).status_code == 200
    assert shared_server.login(name, "another-password").get("/api/v2/session").status_code == 200


def test_a_user_created_without_a_role_has_no_api_access(shared_server, admin):
    name = unique("plain")
    admin.create("user", name=name, password=PASSWORD)
    r = requests.post(shared_server.url + "/api/system/login", timeout=30,
                      json={"username": name, "password": PASSWORD})
    assert_error(r, 403, "Forbidden")


def test_content_policy_rules_round_trip(admin):
    rules = [{"name": "cards", "event_type": "screen.creditcard", "match": [".*"],
              "ignore": ["4111"], "store_alert": True}]
    pid = admin.create("content_policy", name=unique("cards"), rules=rules)
    assert admin.fetch("content_policy", pid)["rules"] == rules


def test_content_policy_rule_with_a_bad_event_type_is_invalid(admin):
    r = admin.post("/api/v2/content_policy", json={"name": unique("bad"), "rules": [
        {"name": "x", "event_type": "keyboard", "match": ["a"]}]})
    assert_error(r, 400, "InvalidArgument")


def test_concurrent_creates_get_distinct_ids(shared_server, admin):
    from concurrent.futures import ThreadPoolExecutor

    def work(i):
        c = shared_server.login()
        return [c.create("server", name=unique(f"conc{i}")) for _ in range(25)]

    with ThreadPoolExecutor(8) as pool:
        created = [oid for chunk in pool.map(work, range(8)) for oid in chunk]
    assert len(set(created)) == 200
    listed = admin.ids("server", limit=10000)
    assert set(created) <= set(listed)


UNIQUE_NAMED = ["server", "safe", "listener", "backup", "content_policy"]


def long_name(size, tag):
    """A name of `size` bytes, unique by `tag`, with two-byte characters in it."""
    head = f"{tag}-é-"
    return head + "n" * (size - len(head.encode()))


@pytest.mark.parametrize("model", UNIQUE_NAMED)
def test_unique_names_up_to_511_bytes_are_kept_and_longer_ones_refused(admin, model):
    """A unique name is the key of its index, and LMDB keys hold at most 511 bytes: longer names
    are 400 InvalidArgument naming the attribute, on create and patch alike."""
    kept = {}
    for size in (250, 300, 511):
        name = long_name(size, unique(model))
        oid = admin.create(model, **dict(MODELS[model][0](), name=name))
        assert admin.fetch(model, oid)["name"] == name
        # Still unique, without regard to case.
        assert_error(admin.post(f"/api/v2/{model}",
                                json=dict(MODELS[model][0](), name=name.replace("n", "N"))),
                     409, "Conflict")
        kept[oid] = name
    for size in (512, 600, 2000, 100000):
        name = long_name(size, unique(model))
        error = assert_error(admin.post(f"/api/v2/{model}",
                                        json=dict(MODELS[model][0](), name=name)),
                             400, "InvalidArgument")
        assert error["details"] == {"field": "name", "limit": 511}, error
        oid = next(iter(kept))
        error = assert_error(admin.patch(f"/api/v2/{model}/{oid}", json={"name": name}),
                             400, "InvalidArgument")
        assert error["details"]["field"] == "name"
        r = admin.post("/api/v2/batch", json={"requests": [
            {"method": "POST", "endpoint": f"/{model}", "data": dict(MODELS[model][0](), name=name)}]})
        assert r.status_code == 200, r.text
        assert r.json()["responses"][0]["status"] == 400, r.text
    # Nothing was written by the refusals.
    for oid, name in kept.items():
        assert admin.fetch(model, oid)["name"] == name
    names = {o["name"] for o in admin.list(model, limit=10000)}
    assert all(len(n.encode()) <= 511 for n in names)
    # A long name may be renamed to another name within the limit.
    oid = next(iter(kept))
    renamed = long_name(400, unique(model))
    assert admin.patch(f"/api/v2/{model}/{oid}", json={"name": renamed}).status_code == 200
    assert admin.fetch(model, oid)["name"] == renamed


def test_long_user_names_are_refused_and_never_fail_a_login(shared_server, admin):
    # A user name has its own limit of 128 characters (its schema).
    error = assert_error(admin.post("/api/v2/user", json={"name": "u" * 300, "role": "operator",
                                                          "password": PASSWORD}),
                         400, "InvalidArgument")
    assert error["details"]["field"] == "name"
    # Looking a long name up finds nobody: a login with it is refused like any wrong one.
    for size in (300, 512, 2000):
        r = shared_server.anonymous().post("/api/system/login",
                                           json={"username": "u" * size, "password": PASSWORD})
        assert_error(r, 401, "AuthenticationFailure")


@contextlib.contextmanager
def readers_held(data_dir):
    """Another process (a backup tool, a burst of `audex user` commands) holds every reader slot of
    the store (LMDB's MDB_READERS_FULL): the server's reads fail, its writes, which need no reader
    slot, still commit."""
    env = lmdb.open(str(data_dir), readonly=True, lock=True, max_dbs=64, subdir=True)
    txns = []
    try:
        with pytest.raises(lmdb.ReadersFullError):
            for _ in range(100000):
                txns.append(env.begin())
        yield
    finally:
        for txn in txns:
            txn.abort()
        env.close()


def test_a_committed_write_is_a_success_when_the_work_after_it_fails(server):
    """After a write commits, the content policies are refreshed and purges scheduled; that work
    failing must not answer an error for a write that is kept (the client would write it again)."""
    admin = server.login()  # a login session: checking its token reads nothing from the store
    doomed = admin.create("session", protocol="ssh", started_at="2022-04-05T10:00:00Z")
    with readers_held(server.data):
        r = admin.post("/api/v2/server", json={"name": "written"})
        assert r.status_code == 200, r.text
        written = r.json()["server"]["id"]
        r = admin.post("/api/v2/content_policy", json={"name": "while-held", "rules": [
            {"name": "wipe", "event_type": "command", "match": ["rm -rf"]}]})
        assert r.status_code == 200, r.text
        # A batch refreshes the policies before it writes (content it appends is matched against
        # them): that read fails, so it is refused whole, before writing anything.
        r = admin.post("/api/v2/batch", json={"requests": [
            {"method": "POST", "endpoint": "/server", "data": {"name": "batched"}}]})
        assert_error(r, 500, "InternalError")
        r = admin.delete(f"/api/v2/session/{doomed}")  # schedules the purge of its content
        assert r.status_code == 200, r.text
        # The store really is out of readers: a read fails.
        assert_error(admin.get(f"/api/v2/server/{written}"), 500, "InternalError")
    log = server.log()
    assert "after a committed write, refreshing the content policies failed" in log
    assert "after a committed write, scheduling purges failed" in log
    # Every write answered 200 is there, once; the refused batch wrote nothing.
    assert [s["name"] for s in admin.list("server")] == ["written"]
    assert_error(admin.get(f"/api/v2/session/{doomed}"), 404, "NotFound")
    # The policy written while its refresh failed is in force for the next ingest all the same.
    sid = admin.create("session", protocol="ssh", started_at="2022-04-05T11:00:00Z")
    r = admin.post(f"/api/v2/session/{sid}/content", json=[
        {"type": "command", "text": "rm -rf /", "start_time": "2022-04-05T11:00:01Z"}])
    assert r.status_code == 200, r.text
    r = admin.get(f"/api/audit/sessions/{sid}/alerts")
    assert r.status_code == 200, r.text
    assert [a["psm.alerts.rule_name"] for a in r.json()["items"]] == ["wipe"]


def test_a_path_cannot_forge_log_lines(server):
    """The target of a failed request is logged as it was sent, its bytes that could start a line
    or end a field percent-escaped: a %0A or %22 in it stays three characters."""
    admin = server.login()
    forged = "/api/v2/server/1%0Arequest%200123456789abcdef%20failed:%20%22x%5C"
    with readers_held(server.data):
        request_id = assert_error(admin.get(forged), 500, "InternalError")["details"]["request_id"]
    lines = [line for line in server.log().splitlines() if "0123456789abcdef" in line]
    assert len(lines) == 1, lines
    assert re.search(f" request {request_id} /api/v2/server/1%0Arequest%200123456789abcdef"
                     f"%20failed:%20%22x%5C failed: ", lines[0]), lines[0]
