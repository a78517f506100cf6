"""Content policies and alerts through the real server: rules firing at ingest, the seed's alert
listing with its paging links, card numbers and the Luhn check, rule errors, changes and restarts."""
import itertools
import threading
import time

import pytest

from conftest import assert_error

_names = itertools.count()


def unique(prefix):
    return f"{prefix}-{next(_names)}"


def record(kind, text, begin, channel=0, start="2017-04-25T13:26:39.144356"):
    return {"channel_id": channel, "type": kind, "text": text, "start_time": start,
            "record_id": {"begin": begin, "end": begin + 1, "for_screenshot": begin}}


def new_session(client):
    return client.create("session", protocol="ssh", started_at="2017-04-25T13:00:00Z")


def ingest(client, sid, records):
    r = client.post(f"/api/v2/session/{sid}/content", json=records)
    assert r.status_code == 200, r.text
    return r


def alerts(client, sid, **params):
    r = client.get(f"/api/audit/sessions/{sid}/alerts", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def fired(client, sid):
    return [(a["psm.alerts.rule_name"], a["psm.alerts.record_id"])
            for a in alerts(client, sid)["items"]]


def policy(client, *rules, name=None):
    return client.create("content_policy", name=name or unique("policy"), rules=list(rules))


def rule(name, event_type, match, ignore=None, store_alert=True):
    r = {"name": name, "event_type": event_type, "match": match, "store_alert": store_alert}
    if ignore is not None:
        r["ignore"] = ignore
    return r


@pytest.fixture
def admin(server):
    return server.login()


def test_the_seed_example(admin):
    policy(admin, rule("PatternMatcherRule", "command", ["man sudo"]))
    sid = new_session(admin)
    ingest(admin, sid, [record("command", "myuser@examplehost:~$ man sudo", 94),
                        record("command", "myuser@examplehost:~$ ls", 95)])
    body = alerts(admin, sid)
    href = f"/api/audit/sessions/{sid}/alerts"
    assert body == {
        "items": [{
            "psm.alerts.alert_type": "adp.event.command",
            "psm.alerts.channel_id": "0",
            "psm.alerts.matched_content": "myuser@examplehost:~$ man sudo",
            "psm.alerts.matched_regexp": "man sudo",
            "psm.alerts.record_id": 94,
            "psm.alerts.rule_name": "PatternMatcherRule",
            "psm.alerts.time": "2017-04-25T13:26:39.144356",
        }],
        "meta": {
            "first": href + "?limit=500&offset=0",
            "href": href,
            "last": href + "?limit=500&offset=0",
            "limit": 500,
            "next": None,
            "offset": 0,
            "parent": f"/api/audit/sessions/{sid}",
            "previous": None,
            "remaining_seconds": 600,
        },
    }


def test_every_event_type_and_ignore_patterns(admin):
    policy(admin,
           rule("sudo", "command", ["sudo "], ignore=["sudo -l"]),
           rule("shadow", "screen.content", ["/etc/shadow", "^root@"]),
           rule("card", "screen.creditcard", []),
           rule("title", "screen.windowtitle", ["(?i)putty"]),
           rule("quiet", "command", ["ls"], store_alert=False))
    sid = new_session(admin)
    ingest(admin, sid, [
        record("command", "sudo -l", 1),
        record("command", "sudo cat /etc/shadow", 2, channel=4),
        record("screen", "login\nroot@db1:~# less /etc/shadow", 3),
        record("screen", "Card: 4111-1111-1111-1111 exp 12/27", 4),
        record("window_title", "PuTTY - db1", 5),
        record("command", "ls -l", 6),
        record("window_title", "sudo /etc/shadow", 7),
    ])
    items = alerts(admin, sid)["items"]
    got = [(a["psm.alerts.record_id"], a["psm.alerts.alert_type"], a["psm.alerts.rule_name"],
            a["psm.alerts.matched_regexp"]) for a in items]
    assert got == [
        (2, "adp.event.command", "sudo", "sudo "),
        (3, "adp.event.screen.content", "shadow", "/etc/shadow"),
        (4, "adp.event.screen.creditcard", "card", r"\d(?:[ -]?\d){12,18}"),
        (5, "adp.event.screen.windowtitle", "title", "(?i)putty"),
    ]
    assert items[0]["psm.alerts.channel_id"] == "4"
    assert items[2]["psm.alerts.matched_content"] == "Card: 4111-1111-1111-1111 exp 12/27"


def test_a_card_number_that_fails_luhn_does_not_fire(admin):
    policy(admin, rule("cards", "screen.creditcard", []))
    sid = new_session(admin)
    ingest(admin, sid, [record("screen", "Card: 4111 1111 1111 1112", 1),
                        record("screen", "Order 1234 5678 9012 3456 shipped", 2),
                        record("command", "echo 4111111111111111", 3),
                        record("screen", "Card: 5555 5555 5555 4444", 4)])
    assert fired(admin, sid) == [("cards", 4)]


def test_paging_links_and_record_order(admin):
    policy(admin, rule("rm", "command", ["rm -rf"]))
    sid = new_session(admin)
    ingest(admin, sid, [record("command", f"rm -rf /tmp/{n}", n) for n in (50, 10, 40)])
    ingest(admin, sid, [record("command", f"rm -rf /tmp/{n}", n) for n in (30, 20)])
    href = f"/api/audit/sessions/{sid}/alerts"
    assert [a["psm.alerts.record_id"] for a in alerts(admin, sid)["items"]] == [10, 20, 30, 40, 50]

    body = alerts(admin, sid, limit=2, offset=2)
    assert [a["psm.alerts.record_id"] for a in body["items"]] == [30, 40]
    meta = body["meta"]
    assert meta["first"] == href + "?limit=2&offset=0"
    assert meta["last"] == href + "?limit=2&offset=4"
    assert meta["next"] == href + "?limit=2&offset=4"
    assert meta["previous"] == href + "?limit=2&offset=0"
    assert (meta["limit"], meta["offset"]) == (2, 2)

    last = alerts(admin, sid, limit=2, offset=4)
    assert [a["psm.alerts.record_id"] for a in last["items"]] == [50]
    assert last["meta"]["next"] is None
    assert alerts(admin, sid, offset=9)["items"] == []


def test_alerts_of_unknown_and_removed_sessions(admin):
    assert_error(admin.get("/api/audit/sessions/12345/alerts"), 404, "NotFound")
    assert_error(admin.get("/api/audit/sessions/abc/alerts"), 404, "NotFound")
    sid = new_session(admin)
    assert alerts(admin, sid)["items"] == []
    assert_error(admin.get(f"/api/audit/sessions/{sid}/alerts", params={"sort": "x"}), 400,
                 "InvalidArgument")
    assert admin.delete(f"/api/v2/session/{sid}").status_code == 200
    assert_error(admin.get(f"/api/audit/sessions/{sid}/alerts"), 404, "NotFound")


def test_a_bad_regex_is_refused_naming_the_rule(admin):
    bad = {"name": unique("bad"), "rules": [rule("fine", "command", ["ls"]),
                                            rule("broken rule", "command", ["ok", "(unclosed"])]}
    error = assert_error(admin.post("/api/v2/content_policy", json=bad), 400, "InvalidArgument")
    assert "broken rule" in error["message"] and "(unclosed" in error["message"]
    assert error["details"]["rule"] == "broken rule"
    assert error["details"]["pattern"] == "(unclosed"
    assert error["details"]["field"] == "rules.1.match.1"
    assert admin.list("content_policy") == []
    # Nothing of it matches: the request changed nothing.
    sid = new_session(admin)
    ingest(admin, sid, [record("command", "ls", 1)])
    assert fired(admin, sid) == []


def test_a_bad_patch_leaves_the_policy_working(admin):
    pid = policy(admin, rule("sudo", "command", ["sudo"]))
    r = admin.patch(f"/api/v2/content_policy/{pid}",
                    json={"rules": [rule("sudo", "command", ["sudo"], ignore=["a{3,1}"])]})
    error = assert_error(r, 400, "InvalidArgument")
    assert error["details"]["field"] == "rules.0.ignore.0"
    assert admin.fetch("content_policy", pid)["rules"] == [rule("sudo", "command", ["sudo"])]
    sid = new_session(admin)
    ingest(admin, sid, [record("command", "sudo id", 1)])
    assert fired(admin, sid) == [("sudo", 1)]


def test_rules_need_the_schema_shape(admin):
    for rules in ([{"name": "x", "event_type": "command"}],
                  [{"name": "x", "event_type": "keyboard", "match": ["a"]}],
                  [{"name": "x", "event_type": "command", "match": ["a"], "action": "kill"}],
                  [{"name": "x", "event_type": "command", "match": "a"}],
                  [{"name": "x", "event_type": "command", "match": []}]):
        r = admin.post("/api/v2/content_policy", json={"name": unique("shape"), "rules": rules})
        assert_error(r, 400, "InvalidArgument")
    assert admin.list("content_policy") == []


def test_changes_take_effect_for_the_next_ingest(admin):
    pid = policy(admin, rule("old", "command", ["alpha"]))
    sid = new_session(admin)
    ingest(admin, sid, [record("command", "alpha beta", 1)])
    r = admin.patch(f"/api/v2/content_policy/{pid}",
                    json={"rules": [rule("new", "command", ["beta"])]})
    assert r.status_code == 200, r.text
    ingest(admin, sid, [record("command", "alpha beta", 2)])
    assert admin.delete(f"/api/v2/content_policy/{pid}").status_code == 200
    ingest(admin, sid, [record("command", "alpha beta", 3)])
    # Through a batch as well.
    r = admin.post("/api/v2/batch", json={"requests": [
        {"id": "p", "method": "POST", "endpoint": "/content_policy",
         "data": {"name": unique("batch"), "rules": [rule("batched", "command", ["gamma"])]}}]})
    assert r.status_code == 200 and r.json()["responses"][0]["status"] == 200, r.text
    ingest(admin, sid, [record("command", "alpha beta gamma", 4)])
    assert fired(admin, sid) == [("old", 1), ("new", 2), ("batched", 4)]


def test_a_failed_ingest_stores_no_alert(admin):
    policy(admin, rule("sudo", "command", ["sudo"]))
    sid = new_session(admin)
    r = admin.post(f"/api/v2/session/{sid}/content",
                   json=[record("command", "sudo id", 1), {"type": "command", "text": "sudo"}])
    assert_error(r, 400, "InvalidArgument")
    assert fired(admin, sid) == []


def test_only_admins_change_policies(server, admin):
    operator = server.add_user(admin, "op", "operator")
    service = server.add_user(admin, "rec", "service")
    body = {"name": unique("p"), "rules": [rule("r", "command", ["x"])]}
    assert_error(operator.post("/api/v2/content_policy", json=body), 403, "Forbidden")
    assert_error(service.post("/api/v2/content_policy", json=body), 403, "Forbidden")
    pid = admin.create("content_policy", **body)
    assert_error(operator.patch(f"/api/v2/content_policy/{pid}", json={"rules": []}), 403,
                 "Forbidden")
    assert_error(operator.delete(f"/api/v2/content_policy/{pid}"), 403, "Forbidden")
    assert operator.fetch("content_policy", pid)["rules"] == body["rules"]
    # Recorders ingest and operators read the alerts; a recorder may not read them.
    sid = new_session(service)
    ingest(service, sid, [record("command", "x", 1)])
    assert fired(operator, sid) == [("r", 1)]
    assert_error(service.get(f"/api/audit/sessions/{sid}/alerts"), 403, "Forbidden")


def test_policies_and_alerts_survive_a_restart(server):
    admin = server.login()
    policy(admin, rule("sudo", "command", ["sudo"]))
    sid = new_session(admin)
    ingest(admin, sid, [record("command", "sudo id", 1)])
    server.restart()
    admin = server.login()
    ingest(admin, sid, [record("command", "sudo su", 2)])
    assert fired(admin, sid) == [("sudo", 1), ("sudo", 2)]


def test_content_appended_in_a_batch_raises_alerts(admin):
    policy(admin, rule("BatchRule", "command", ["rm -rf"]))
    sid = new_session(admin)
    r = admin.post("/api/v2/batch", json={"atomic": True, "requests": [
        {"id": "c", "method": "POST", "endpoint": f"/session/{sid}/content",
         "data": [record("command", "rm -rf /tmp/x", 7)]}]})
    assert r.status_code == 200, r.text
    assert fired(admin, sid) == [("BatchRule", 7)]


def test_a_policy_past_the_limits_is_refused_and_changes_nothing(admin):
    kept = policy(admin, rule("sudo", "command", ["sudo"]))
    stored = admin.fetch("content_policy", kept)
    before = admin.list("content_policy")

    wide = [rule("wide", "command", [f"w{i}" for i in range(200)], [f"i{i}" for i in range(57)])]
    r = admin.post("/api/v2/content_policy", json={"name": unique("wide"), "rules": wide})
    error = assert_error(r, 400, "InvalidArgument")
    assert error["details"]["field"] == "rules" and error["details"]["limit"] == 256

    long_pattern = [rule("ok", "command", ["ls"]), rule("long", "command", ["a" * 1025])]
    r = admin.post("/api/v2/content_policy", json={"name": unique("long"), "rules": long_pattern})
    error = assert_error(r, 400, "InvalidArgument")
    assert error["details"]["field"] == "rules.1.match.0" and error["details"]["limit"] == 1024

    many = [rule(f"card {i}", "screen.creditcard", []) for i in range(257)]
    r = admin.post("/api/v2/content_policy", json={"name": unique("many"), "rules": many})
    assert assert_error(r, 400, "InvalidArgument")["details"]["field"] == "rules"

    r = admin.patch(f"/api/v2/content_policy/{kept}", json={"rules": wide})
    assert assert_error(r, 400, "InvalidArgument")["details"]["field"] == "rules"

    assert admin.list("content_policy") == before
    assert admin.fetch("content_policy", kept) == stored
    sid = new_session(admin)
    ingest(admin, sid, [record("command", "sudo id", 1), record("command", "w1 a", 2)])
    assert fired(admin, sid) == [("sudo", 1)]


def test_the_limits_allow_a_policy_of_the_largest_size(admin):
    rules = [rule("edge", "command", ["x" * 1024] + [f"\\bp{i}\\b" for i in range(255)])]
    policy(admin, *rules)
    sid = new_session(admin)
    ingest(admin, sid, [record("command", "run p254 now", 1), record("command", "p2540", 2)])
    assert fired(admin, sid) == [("edge", 1)]


def test_ingestion_goes_on_while_a_large_policy_compiles(server):
    """Hyperscan compiles a policy after its write has committed, not while the LMDB writer is
    held, and an ingest does not wait for it: ingests on another connection are answered while the
    policy's write is still being compiled, each in a small part of its time. Before, every ingest
    waited for the compile (in the write transaction, then again for the matcher)."""
    admin = server.login()
    recorder = server.login()
    sid = new_session(admin)
    # Within the limits, yet Hyperscan takes a second or more: bounded repeats of classes.
    heavy = rule("hosts", "command", [f"host{i}[a-z]{{0,40}}x.{{0,60}}y" for i in range(45)])
    answered = {}

    def create():
        started = time.monotonic()
        r = admin.post("/api/v2/content_policy",
                       json={"name": unique("heavy"), "rules": [heavy]}, timeout=300)
        answered["status"] = r.status_code
        answered["seconds"] = time.monotonic() - started
        answered["at"] = time.monotonic()

    writer = threading.Thread(target=create)
    writer.start()
    latencies = []
    begin = 1000
    while writer.is_alive():
        started = time.monotonic()
        ingest(recorder, sid, [record("command", "host1abcx--y", begin)])
        if "at" not in answered:
            latencies.append(time.monotonic() - started)
        begin += 1
    writer.join()
    assert answered["status"] == 200
    # The ingests answered while the policy was being written: many, each far quicker than it.
    assert len(latencies) >= 5, (latencies, answered)
    assert max(latencies) < answered["seconds"] / 4, (latencies, answered)
    # Once answered, the policy is in force for the next ingest.
    ingest(recorder, sid, [record("command", "host7abcx--y", 1)])
    assert ("hosts", 1) in fired(admin, sid)
