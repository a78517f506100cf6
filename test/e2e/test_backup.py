"""Backup assignment as in seed 000: /session/<sid>/backup/<bid> and /session_backup."""
import pytest

from conftest import assert_error

SESSION = {"protocol": "vnc", "started_at": "2022-04-05 16:06:07.313862+02"}


@pytest.fixture(scope="module")
def backup(admin):
    return admin.create("backup", name="Backup_Target_Name", target="nfs://backup/audex")


def new_session(admin):
    return admin.create("session", **SESSION)


def test_assign_one_session_by_path_without_a_body(admin, backup):
    sid = new_session(admin)
    # Sent as in the seed: a bare POST, no body and no Content-Type.
    r = admin.post(f"/api/v2/session/{sid}/backup/{backup}")
    assert r.status_code == 200, r.text
    assert r.json() == {"result": "success"}


def test_assign_one_session_by_path_with_an_empty_json_body(admin, backup):
    r = admin.post(f"/api/v2/session/{new_session(admin)}/backup/{backup}", json={})
    assert r.status_code == 200, r.text
    assert r.json() == {"result": "success"}


def test_assign_by_path_is_repeatable(admin, backup):
    sid = new_session(admin)
    for _ in range(2):
        assert admin.post(f"/api/v2/session/{sid}/backup/{backup}", json={}).status_code == 200


def test_assign_by_path_to_unknown_objects_is_not_found(admin, backup):
    sid = new_session(admin)
    assert_error(admin.post(f"/api/v2/session/{sid}/backup/42", json={}), 404, "NotFound")
    assert_error(admin.post(f"/api/v2/session/42/backup/{backup}", json={}), 404, "NotFound")


def test_assign_by_path_of_a_removed_session_is_not_found(admin, backup):
    sid = new_session(admin)
    admin.delete(f"/api/v2/session/{sid}")
    assert_error(admin.post(f"/api/v2/session/{sid}/backup/{backup}", json={}), 404, "NotFound")


def test_session_backup_by_name_answers_as_the_seed(admin, backup):
    sids = [new_session(admin), new_session(admin)]
    r = admin.post("/api/v2/session_backup",
                   json={"backup_name": "Backup_Target_Name", "session_ids": sids})
    assert r.status_code == 200, r.text
    assert r.json() == {"result": "success", "session_ids": sids}


def test_session_backup_by_id_with_one_session(admin, backup):
    sid = new_session(admin)
    r = admin.post("/api/v2/session_backup", json={"backup_id": backup, "session_id": sid})
    assert r.status_code == 200, r.text
    assert r.json() == {"result": "success", "session_id": sid}


def test_session_backup_name_is_case_insensitive(admin, backup):
    sid = new_session(admin)
    r = admin.post("/api/v2/session_backup",
                   json={"backup_name": "backup_target_name", "session_ids": [sid]})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("body", [
    {"backup_name": "No_Such_Backup", "session_ids": "SID"},
    {"backup_id": "42", "session_ids": "SID"},
    {"backup_name": "Backup_Target_Name", "session_ids": ["42"]},
    {"backup_name": "Backup_Target_Name", "session_id": "42"},
])
def test_session_backup_with_unknown_names_or_ids_is_not_found(admin, backup, body):
    sid = new_session(admin)
    body = {k: ([sid] if v == "SID" else v) for k, v in body.items()}
    assert_error(admin.post("/api/v2/session_backup", json=body), 404, "NotFound")


@pytest.mark.parametrize("body", [
    {"session_ids": "SIDS"},
    {"session_id": "SID"},
    {"backup_name": "Backup_Target_Name"},
    {"backup_id": "BID"},
    {},
    {"backup_name": "Backup_Target_Name", "backup_id": "BID", "session_id": "SID"},
    {"backup_name": "Backup_Target_Name", "session_id": "SID", "session_ids": "SIDS"},
])
def test_session_backup_without_exactly_one_of_each_half_is_invalid(admin, backup, body):
    sid = new_session(admin)
    subst = {"SID": sid, "SIDS": [sid], "BID": backup}
    body = {k: subst.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    assert_error(admin.post("/api/v2/session_backup", json=body), 400, "InvalidArgument")


@pytest.mark.parametrize("body", [
    {"backup_name": "Backup_Target_Name", "session_ids": "123"},
    {"backup_name": "Backup_Target_Name", "session_ids": [123]},
    {"backup_name": "Backup_Target_Name", "session_id": "abc"},
    {"backup_name": "Backup_Target_Name", "session_ids": ["1"], "colour": "red"},
])
def test_session_backup_with_bad_types_is_invalid(admin, backup, body):
    assert_error(admin.post("/api/v2/session_backup", json=body), 400, "InvalidArgument")


def test_session_backup_is_post_only(admin, backup):
    r = admin.get("/api/v2/session_backup")
    assert_error(r, 405, "MethodNotAllowed")
    assert "POST" in r.headers["Allow"]
