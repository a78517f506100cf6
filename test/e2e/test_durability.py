"""Durability (API.md section 1): what a 200 answered survives a SIGTERM restart and a kill -9."""
from conftest import PASSWORD, assert_error

SESSION = {"protocol": "ssh", "started_at": "2022-04-05 16:06:07.313862+02",
           "source_ip": "10.2.0.0", "source_port": 65331}


def test_objects_survive_a_clean_restart(server):
    admin = server.login()
    sids = [admin.create("session", **SESSION) for _ in range(5)]
    uid = admin.create("user", name="survivor", role="operator", password=PASSWORD)
    before = admin.list("session")
    server.restart()
    admin = server.login()
    assert admin.list("session") == before
    assert admin.ids("session") == sids
    assert admin.fetch("user", uid)["name"] == "survivor"
    assert server.login("survivor", PASSWORD).get("/api/v2/session").status_code == 200


def test_a_create_survives_kill_9_right_after_its_answer(server):
    admin = server.login()
    r = admin.post("/api/v2/session", json=SESSION)
    assert r.status_code == 200
    server.kill()
    sid = r.json()["session"]["id"]
    server.start()
    s = server.login().fetch("session", sid)
    assert s["source_port"] == 65331 and s["started_at"] == "2022-04-05 14:06:07.313862+00"


def test_patch_and_delete_survive_kill_9(server):
    admin = server.login()
    keep = admin.create("session", **SESSION)
    gone = admin.create("session", **SESSION)
    assert admin.patch(f"/api/v2/session/{keep}", json={"status": "terminated"}).status_code == 200
    assert admin.delete(f"/api/v2/session/{gone}").status_code == 200
    server.kill()
    server.start()
    admin = server.login()
    assert admin.fetch("session", keep)["status"] == "terminated"
    assert_error(admin.get(f"/api/v2/session/{gone}"), 404, "NotFound")
    assert admin.ids("session", filter="removed:true") == [gone]


def test_a_batch_survives_kill_9(server):
    admin = server.login()
    r = admin.post("/api/v2/batch", json={"atomic": True, "requests": [
        {"id": str(i), "method": "POST", "endpoint": "/session", "data": SESSION}
        for i in range(20)]})
    assert r.status_code == 200, r.text
    sids = [x["session"]["id"] for x in r.json()["responses"]]
    server.kill()
    server.start()
    assert server.login().ids("session") == sids


def test_ids_keep_increasing_across_restarts(server):
    admin = server.login()
    first = admin.create("session", **SESSION)
    server.kill()
    server.start()
    second = server.login().create("session", **SESSION)
    assert int(second) > int(first)


def test_login_sessions_end_with_the_process_but_api_keys_do_not(server):
    admin = server.login()
    key = admin.post(f"/api/v2/user/{admin.list('user')[0]['id']}/api_key").json()["api_key"]
    server.kill()
    server.start()
    admin.base = server.url
    assert_error(admin.get("/api/v2/session"), 401, "Unauthenticated")
    admin.token = key
    assert admin.get("/api/v2/session").status_code == 200
