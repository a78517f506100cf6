"""GET /api/v2/objspec/<model> (API.md section 3): generated from schemas/<model>.json for every model."""
import json

import pytest

from conftest import REPO, assert_error

MODELS = ["session", "user", "account", "server", "safe", "listener", "backup", "session_backup",
          "content_policy"]


def schema(model):
    return json.loads((REPO / "schemas" / f"{model}.json").read_text())


@pytest.mark.parametrize("model", MODELS)
def test_objspec_lists_every_schema_attribute(admin, model):
    r = admin.get(f"/api/v2/objspec/{model}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body.keys() == {"result", model} and body["result"] == "success"
    spec = body[model]
    properties = schema(model)["properties"]
    assert set(spec) == set(properties)
    required = set(schema(model).get("required", []))
    for name, attr in spec.items():
        assert attr["type"] == properties[name]["type"], name
        assert attr.get("required", False) == (name in required), name
        for flag in ("readonly", "unique", "ignore_case", "expensive", "protected"):
            assert attr.get(flag, False) == properties[name].get(flag, False), (name, flag)


def test_session_objspec_flags(admin):
    spec = admin.get("/api/v2/objspec/session").json()["session"]
    assert spec["id"]["readonly"] is True
    assert spec["created_at"]["readonly"] is True
    assert spec["modified_at"]["readonly"] is True
    assert spec["protocol"]["required"] is True
    assert spec["started_at"]["required"] is True
    assert "required" not in spec["finished_at"]
    for expensive in ("user_name", "destination_address", "duration", "activity", "time_limit",
                      "availibility", "user_removed"):
        assert spec[expensive]["expensive"] is True, expensive
    assert "expensive" not in spec["destination_ip"]
    assert set(spec["protocol"]["enum"]) == {"http", "modbus", "mysql", "rdp", "ssh", "system",
                                             "tcp", "tds", "telnet", "tn3270", "tn5250", "vnc"}
    assert spec["dump_mode"]["enum"] == ["all", "none", "raw", "noraw"]
    assert spec["ml"]["type"] == "object"
    assert set(spec["ml"]["properties"]) == {"ml_threat_level", "ml_threat_level_min",
                                             "ml_threat_level_max", "ml_converted_at",
                                             "ml_finished_at"}


def test_user_objspec_flags(admin):
    spec = admin.get("/api/v2/objspec/user").json()["user"]
    assert spec["name"]["unique"] is True and spec["name"]["ignore_case"] is True
    assert spec["name"]["required"] is True
    assert spec["password"]["protected"] is True


def test_session_backup_objspec(admin):
    spec = admin.get("/api/v2/objspec/session_backup").json()["session_backup"]
    assert set(spec) == {"session_id", "session_ids", "backup_id", "backup_name"}
    assert spec["session_ids"]["type"] == "array"


def test_objspec_of_an_unknown_model_is_not_found(admin):
    assert_error(admin.get("/api/v2/objspec/nosuch"), 404, "NotFound")


def test_objspec_takes_no_parameters(admin):
    err = assert_error(admin.get("/api/v2/objspec/session", params={"x": "1"}), 400,
                       "InvalidArgument")
    assert err["details"]["field"] == "x"


def test_objspec_is_read_only(admin):
    r = admin.post("/api/v2/objspec/session", json={})
    assert_error(r, 405, "MethodNotAllowed")
    assert "GET" in r.headers["Allow"]
