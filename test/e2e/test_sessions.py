"""The session resource (seed 000): the GET body of the seed's example, timestamps, expensive attributes."""
import re
import time

from conftest import PASSWORD, assert_error

# The seed's GET-by-id example, verbatim.
SEED = {
    "id": "3927138875067084301",
    "leader_session_id": "3927138875067084301",
    "listener_id": "3927138875067073099",
    "user_id": "3927138875067072685",
    "safe_id": "3927138875067072584",
    "account_id": "3927138875067088645",
    "server_id": "3927138875067072586",
    "started_at": "2022-04-05 16:06:07.313862+02",
    "finished_at": "2022-04-05 16:07:58.65701+02",
    "dump_mode": "all",
    "protocol": "vnc",
    "source_ip": "10.2.0.0",
    "source_port": 65331,
    "destination_ip": "10.0.0.1",
    "destination_port": 5900,
    "paused": False,
    "retention_locked": False,
    "indexed": 2,
    "size": 371712,
    "status": "approved",
    "active_time": 60,
    "password_change": False,
    "checkout_forced": False,
    "created_at": "2022-04-05 16:06:07.316523+02",
    "modified_at": "2022-04-08 08:16:02.009606+02",
    "height": "768",
    "width": "1024",
}
READONLY = {"id", "created_at", "modified_at"}
WRITABLE = {k: v for k, v in SEED.items() if k not in READONLY}
NOW_UTC = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?\+00$")


def test_get_by_id_has_the_seed_shape(admin):
    sid = admin.create("session", **WRITABLE)
    r = admin.get(f"/api/v2/session/{sid}")
    assert r.status_code == 200
    body = r.json()
    assert body.keys() == {"result", "session"} and body["result"] == "success"
    s = body["session"]
    assert set(s) == set(SEED)
    expected = dict(WRITABLE, started_at="2022-04-05 14:06:07.313862+00",
                    finished_at="2022-04-05 14:07:58.65701+00")
    for key, value in expected.items():
        assert s[key] == value, key
    assert s["id"] == sid
    assert NOW_UTC.match(s["created_at"]) and NOW_UTC.match(s["modified_at"])
    assert type(s["source_port"]) is int and type(s["paused"]) is bool


def test_list_items_have_the_same_shape(admin):
    sid = admin.create("session", **WRITABLE)
    items = [s for s in admin.list("session", limit=10000) if s["id"] == sid]
    assert len(items) == 1 and set(items[0]) == set(SEED)


def test_iso_8601_input_comes_back_in_the_seed_format(admin):
    sid = admin.create("session", protocol="ssh", started_at="2022-04-05T16:06:07.5+02:00",
                       finished_at="2022-04-05T14:10:00Z")
    s = admin.fetch("session", sid)
    assert s["started_at"] == "2022-04-05 14:06:07.5+00"
    assert s["finished_at"] == "2022-04-05 14:10:00+00"


def test_null_and_unset_attributes_are_omitted(admin):
    sid = admin.create("session", protocol="ssh", started_at="2022-04-05 16:06:07+02",
                       reason=None, finished_at=None)
    s = admin.fetch("session", sid)
    assert set(s) == {"id", "protocol", "started_at", "created_at", "modified_at"}
    assert admin.patch(f"/api/v2/session/{sid}", json={"reason": "timeout"}).status_code == 200
    assert admin.fetch("session", sid)["reason"] == "timeout"
    assert admin.patch(f"/api/v2/session/{sid}", json={"reason": None}).status_code == 200
    assert "reason" not in admin.fetch("session", sid)


def test_ml_attributes_round_trip(admin):
    sid = admin.create("session", protocol="rdp", started_at="2022-04-05 16:06:07+02",
                       ml={"ml_threat_level": 3.5, "ml_converted_at": "2022-04-05T15:00:00Z"})
    assert admin.fetch("session", sid)["ml"] == {"ml_threat_level": 3.5,
                                                 "ml_converted_at": "2022-04-05 15:00:00+00"}


# ---- expensive attributes ------------------------------------------------------------------------

EXPENSIVE = {"destination_address", "user_name", "user_removed", "user_organization",
             "account_name", "account_removed", "server_name", "server_removed", "safe_name",
             "safe_removed", "listener_name", "listener_removed", "secret_exposure_state",
             "ocred", "availibility", "created_on", "replicated_on_nodes", "duration",
             "activity", "time_limit"}


def referenced_session(admin, **extra):
    """A session referencing a new user, account, server, safe and listener."""
    tag = str(time.monotonic_ns())
    refs = {
        "user_id": admin.create("user", name=f"rec-{tag}", role="user", password=PASSWORD,
                                organization="Acme Corp"),
        "account_id": admin.create("account", name=f"root-{tag}"),
        "server_id": admin.create("server", name=f"db-{tag}"),
        "safe_id": admin.create("safe", name=f"safe-{tag}"),
        "listener_id": admin.create("listener", name=f"lst-{tag}", protocol="vnc"),
    }
    attrs = dict(WRITABLE, **refs)
    attrs.update(extra)
    return admin.create("session", **attrs), tag, refs


def test_expensive_attributes_are_left_out_by_default(admin):
    sid, _, _ = referenced_session(admin)
    s = admin.fetch("session", sid)
    assert not EXPENSIVE & set(s)
    items = [o for o in admin.list("session", limit=10000) if o["id"] == sid]
    assert not EXPENSIVE & set(items[0])


def test_fields_star_computes_the_expensive_attributes(admin):
    sid, tag, _ = referenced_session(admin)
    s = admin.fetch("session", sid, fields="*")
    assert s["user_name"] == f"rec-{tag}"
    assert s["user_organization"] == "Acme Corp"
    assert s["account_name"] == f"root-{tag}"
    assert s["server_name"] == f"db-{tag}"
    assert s["safe_name"] == f"safe-{tag}"
    assert s["listener_name"] == f"lst-{tag}"
    for ref in ("user", "account", "server", "safe", "listener"):
        assert s[f"{ref}_removed"] is False, ref
    assert s["destination_address"] == "10.0.0.1:5900"
    # 16:06:07.313862 to 16:07:58.65701: 111 whole seconds, of which 60 active.
    assert s["duration"] == 111
    assert s["activity"] == 54
    assert s["availibility"] == "available"
    assert s["created_on"] == s["replicated_on_nodes"] and s["created_on"]
    # Every plain attribute is there too.
    assert s["protocol"] == "vnc" and s["id"] == sid


def test_named_expensive_fields_only(admin):
    sid, tag, _ = referenced_session(admin)
    s = admin.fetch("session", sid, fields="user_name,destination_address,duration")
    assert s == {"user_name": f"rec-{tag}", "destination_address": "10.0.0.1:5900",
                 "duration": 111}
    items = [o for o in admin.list("session", fields="id,user_name", limit=10000)
             if o["id"] == sid]
    assert items == [{"id": sid, "user_name": f"rec-{tag}"}]


def test_removed_flags_follow_the_referenced_objects(admin):
    sid, tag, refs = referenced_session(admin)
    assert admin.delete(f"/api/v2/user/{refs['user_id']}").status_code == 200
    assert admin.delete(f"/api/v2/server/{refs['server_id']}").status_code == 200
    s = admin.fetch("session", sid, fields="*")
    assert s["user_removed"] is True and s["user_name"] == f"rec-{tag}"
    assert s["server_removed"] is True and s["server_name"] == f"db-{tag}"
    assert s["account_removed"] is False and s["safe_removed"] is False


def test_missing_references_leave_their_names_out(admin):
    sid = admin.create("session", **WRITABLE)  # the seed's ids name no stored objects
    s = admin.fetch("session", sid, fields="*")
    for ref in ("user", "account", "server", "safe", "listener"):
        assert f"{ref}_name" not in s, ref
    assert s["destination_address"] == "10.0.0.1:5900"


def test_ipv6_destination_address_is_bracketed(admin):
    sid = admin.create("session", protocol="ssh", started_at="2022-04-05 16:06:07+02",
                       destination_ip="fd00::1", destination_port=22)
    assert admin.fetch("session", sid, fields="destination_address") == {
        "destination_address": "[fd00::1]:22"}


def test_time_limit_counts_down_to_terminate_at(admin):
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 30))
    terminate = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    sid = admin.create("session", protocol="ssh", started_at=started, terminate_at=terminate)
    s = admin.fetch("session", sid, fields="time_limit,duration")
    assert 3590 <= s["time_limit"] <= 3600
    assert 29 <= s["duration"] <= 40  # active: counted to now
    admin.patch(f"/api/v2/session/{sid}", json={"finished_at": started})
    assert admin.fetch("session", sid, fields="time_limit")["time_limit"] == 0


def test_time_limit_is_absent_without_terminate_at(admin):
    sid = admin.create("session", protocol="ssh", started_at="2022-04-05 16:06:07+02")
    assert "time_limit" not in admin.fetch("session", sid, fields="*")


def test_removed_session_is_missing_with_removed_filter(admin):
    sid = admin.create("session", protocol="ssh", started_at="2022-04-05 16:06:07+02")
    admin.delete(f"/api/v2/session/{sid}")
    items = admin.list("session", filter=f"removed:true AND id:{sid}", fields="id,availibility,removed")
    assert items == [{"id": sid, "availibility": "missing", "removed": True}]
    assert_error(admin.get(f"/api/v2/session/{sid}"), 404, "NotFound")


def test_expensive_attributes_can_be_filtered_and_ordered(admin):
    sid, tag, _ = referenced_session(admin)
    assert admin.ids("session", filter=f"user_name:rec-{tag}") == [sid]
    assert sid in admin.ids("session", filter='duration:111 AND destination_address:"10.0.0.1:5900"',
                            limit=10000)
    durations = [s["duration"] for s in admin.list("session", order="-duration", fields="duration",
                                                   limit=10000)]
    assert durations == sorted(durations, reverse=True)
    assert len(durations) == len(admin.ids("session", limit=10000))
