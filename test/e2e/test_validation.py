"""Body validation of POST/PATCH (API.md section 3): unknown, readonly, required, typed, unique, conflicts."""
import time

import pytest

from conftest import PASSWORD, assert_error

BASE = {"protocol": "ssh", "started_at": "2022-04-05 16:06:07.313862+02"}


def session(admin, **extra):
    return admin.create("session", **dict(BASE, **extra))


def test_unknown_attribute_is_invalid_argument(admin):
    err = assert_error(admin.post("/api/v2/session", json=dict(BASE, colour="red")), 400,
                       "InvalidArgument")
    assert err["details"]["field"] == "colour"


@pytest.mark.parametrize("attr, value", [
    ("id", "123"), ("created_at", "2022-04-05 16:06:07+02"),
    ("modified_at", "2022-04-05 16:06:07+02"), ("removed", True),
    ("user_name", "bob"), ("duration", 5), ("destination_address", "10.0.0.1:22"),
])
def test_readonly_attribute_in_post_is_invalid_argument(admin, attr, value):
    err = assert_error(admin.post("/api/v2/session", json=dict(BASE, **{attr: value})), 400,
                       "InvalidArgument")
    assert err["details"]["field"] == attr


@pytest.mark.parametrize("attr, value", [("id", "123"), ("removed", False),
                                         ("modified_at", "2022-04-05 16:06:07+02"),
                                         ("time_limit", 3)])
def test_readonly_attribute_in_patch_is_invalid_argument(admin, attr, value):
    sid = session(admin)
    err = assert_error(admin.patch(f"/api/v2/session/{sid}", json={attr: value}), 400,
                       "InvalidArgument")
    assert err["details"]["field"] == attr


@pytest.mark.parametrize("missing", ["protocol", "started_at"])
def test_missing_required_attribute_is_invalid_argument(admin, missing):
    body = {k: v for k, v in BASE.items() if k != missing}
    err = assert_error(admin.post("/api/v2/session", json=body), 400, "InvalidArgument")
    assert err["details"]["field"] == missing


def test_required_attribute_cannot_be_patched_to_null(admin):
    sid = session(admin)
    err = assert_error(admin.patch(f"/api/v2/session/{sid}", json={"protocol": None}), 400,
                       "InvalidArgument")
    assert err["details"]["field"] == "protocol"


def test_user_without_a_name_is_invalid_argument(admin):
    err = assert_error(admin.post("/api/v2/user", json={"role": "operator"}), 400,
                       "InvalidArgument")
    assert err["details"]["field"] == "name"


@pytest.mark.parametrize("attr, value", [
    ("source_port", "22"), ("source_port", 70000), ("source_port", -1), ("source_port", 1.5),
    ("protocol", "smtp"), ("protocol", 5), ("started_at", "yesterday"),
    ("started_at", "2022-13-01 00:00:00+00"), ("paused", "yes"), ("paused", 1),
    ("destination_ip", "999.1.1.1"), ("source_ip", "localhost"), ("user_id", "abc"),
    ("indexed", 3), ("dump_mode", "some"), ("size", "big"), ("height", 768),
    ("ml", {"ml_threat_level": "high"}), ("ml", {"colour": 1}), ("ml", 3),
])
def test_wrong_type_is_invalid_argument(admin, attr, value):
    body = dict(BASE, **{attr: value})
    err = assert_error(admin.post("/api/v2/session", json=body), 400, "InvalidArgument")
    assert err["details"]["field"].split(".")[0] == attr


def test_wrong_type_in_patch_is_invalid_argument_and_changes_nothing(admin):
    sid = session(admin, status="approved")
    before = admin.fetch("session", sid)
    r = admin.patch(f"/api/v2/session/{sid}", json={"status": "finished", "reason": "x"})
    assert_error(r, 400, "InvalidArgument")
    assert admin.fetch("session", sid) == before


@pytest.mark.parametrize("body", ["[]", '"session"', "5", "null"])
def test_body_that_is_not_an_object_is_invalid_argument(admin, body):
    r = admin.post("/api/v2/session", data=body, headers={"Content-Type": "application/json"})
    assert_error(r, 400, "InvalidArgument")


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_missing_body_is_malformed_body(admin, method):
    path = "/api/v2/session" if method == "POST" else f"/api/v2/session/{session(admin)}"
    assert_error(admin.request(method, path), 400, "MalformedBody")


def test_unique_name_conflicts_case_insensitively(admin):
    admin.create("user", name="Alice", role="operator", password=PASSWORD)
    err = assert_error(admin.post("/api/v2/user", json={"name": "alice", "password": PASSWORD}),
                       409, "Conflict")
    assert err["details"]["field"] == "name"
    assert_error(admin.post("/api/v2/user", json={"name": "ALICE"}), 409, "Conflict")
    assert len(admin.list("user", filter="name:alice")) == 1


def test_rename_onto_a_taken_name_conflicts(admin):
    admin.create("server", name="taken-server")
    sid = admin.create("server", name="free-server")
    assert_error(admin.patch(f"/api/v2/server/{sid}", json={"name": "Taken-Server"}), 409,
                 "Conflict")
    assert admin.fetch("server", sid)["name"] == "free-server"
    # Renaming to itself in another case is no conflict.
    assert admin.patch(f"/api/v2/server/{sid}", json={"name": "FREE-server"}).status_code == 200


def test_a_removed_objects_name_is_free_again(admin):
    first = admin.create("backup", name="recycled")
    admin.delete(f"/api/v2/backup/{first}")
    second = admin.create("backup", name="Recycled")
    assert second != first


def test_retention_locked_session_cannot_be_deleted(admin):
    sid = session(admin, retention_locked=True)
    assert_error(admin.delete(f"/api/v2/session/{sid}"), 409, "Conflict")
    assert admin.fetch("session", sid)["retention_locked"] is True
    assert admin.patch(f"/api/v2/session/{sid}", json={"retention_locked": False}).status_code == 200
    assert admin.delete(f"/api/v2/session/{sid}").status_code == 200


def test_patching_a_removed_session_conflicts(admin):
    sid = session(admin)
    admin.delete(f"/api/v2/session/{sid}")
    assert_error(admin.patch(f"/api/v2/session/{sid}", json={"status": "terminated"}), 409,
                 "Conflict")
    assert_error(admin.get(f"/api/v2/session/{sid}"), 404, "NotFound")
    removed = admin.list("session", filter=f"removed:true AND id:{sid}")
    assert len(removed) == 1 and "status" not in removed[0]


def test_patch_updates_modified_at_only(admin):
    sid = session(admin)
    before = admin.fetch("session", sid)
    assert before["created_at"] == before["modified_at"]
    time.sleep(0.01)
    assert admin.patch(f"/api/v2/session/{sid}", json={"paused": True}).status_code == 200
    after = admin.fetch("session", sid)
    assert after["created_at"] == before["created_at"]
    assert after["modified_at"] > before["modified_at"]
    assert after["paused"] is True


def test_every_writable_session_attribute_can_be_patched(admin):
    sid = session(admin)
    change = {"finished_at": "2022-04-05T14:10:00Z", "status": "terminated", "reason": "idle",
              "terminate_at": "2022-04-05T15:00:00Z", "paused": True, "indexed": 1,
              "ml": {"ml_threat_level": 1}, "size": 10, "active_time": 5, "protocol": "rdp",
              "login_reason": "ticket 42", "command": "ls", "pending_delete": True}
    r = admin.patch(f"/api/v2/session/{sid}", json=change)
    assert r.status_code == 200, r.text
    s = admin.fetch("session", sid)
    assert s["finished_at"] == "2022-04-05 14:10:00+00"
    assert s["terminate_at"] == "2022-04-05 15:00:00+00"
    for key in change.keys() - {"finished_at", "terminate_at"}:
        assert s[key] == change[key], key
