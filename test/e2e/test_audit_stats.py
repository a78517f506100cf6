"""GET /api/audit/sessions/stats (API.md section 4, seed 002): the seed's worked examples rebuilt
from their data through the API, ordering and `others`, q, and the errors."""
import pytest

from conftest import assert_error

NAMES = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf"]


def create_sessions(client, sessions):
    """Creates the sessions in order; returns their ids by name."""
    ids = {}
    for name, attrs in sessions:
        ids[name] = client.create("session", **attrs)
    return ids


def stats(client, **params):
    r = client.get("/api/audit/sessions/stats", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_seed_size_2_leaves_ssh_out_as_one_other(server):
    admin = server.login()
    protocols = ["http", "ssh", "rdp", "rdp", "rdp", "http", "http"]
    create_sessions(admin, [(n, {"protocol": p, "started_at": "2017-01-01"})
                            for n, p in zip(NAMES, protocols)])
    body = stats(admin, field="protocol", size=2)
    assert body["items"] == [{"count": 3, "value": "http"}, {"count": 3, "value": "rdp"}]
    assert body["meta"] == {"href": "/api/audit/sessions/stats", "parent": "/api/audit/sessions",
                            "others": 1, "field": "protocol", "size": 2,
                            "remaining_seconds": 600}


def test_seed_example_1(server):
    admin = server.login()
    protocols = ["ssh", "ssh", "rdp", "rdp", "rdp", "ssh", "ssh"]
    create_sessions(admin, [(n, {"protocol": p, "started_at": "2017-01-01"})
                            for n, p in zip(NAMES, protocols)])
    body = stats(admin, field="protocol")
    assert body["items"] == [{"count": 4, "value": "ssh"}, {"count": 3, "value": "rdp"}]
    meta = body["meta"]
    assert (meta["href"], meta["parent"], meta["others"], meta["field"], meta["size"]) == (
        "/api/audit/sessions/stats", "/api/audit/sessions", 0, "protocol", 10)


EXAMPLE_2 = [
    ("Alpha", "ssh", "2017-01-01", "2017-01-02"),
    ("Bravo", "ssh", "2017-01-01", "2017-01-02"),
    ("Charlie", "rdp", "2017-01-01", "2017-01-02"),
    ("Delta", "rdp", "2017-01-03", "2017-01-04"),
    ("Echo", "rdp", "2017-01-03", "2017-01-04"),
    ("Foxtrot", "ssh", "2017-01-04", "2017-01-06"),
    ("Golf", "ssh", "2017-01-02", "2017-01-10"),
]


@pytest.fixture
def example_2(server):
    """The seed's Example 2: seven sessions with trail numbers 1 to 7, of which 1, 2, 3, 4 and 6
    show `login` in their content."""
    admin = server.login()
    ids = create_sessions(admin, [(n, {"protocol": p, "started_at": s, "finished_at": e})
                                  for n, p, s, e in EXAMPLE_2])
    for trail, name in enumerate(NAMES, start=1):
        r = admin.get(f"/api/audit/sessions/{ids[name]}")
        assert r.status_code == 200, r.text
        assert r.json()["body"]["psm"]["content_reference_id"] == trail
        text = "user login ok" if trail in (1, 2, 3, 4, 6) else "user logout"
        r = admin.post(f"/api/v2/session/{ids[name]}/content",
                       json=[{"type": "command", "text": text, "start_time": "2017-01-01"}])
        assert r.status_code == 200, r.text
    return admin, ids


def test_seed_example_2_content_range_and_time_window(example_2):
    admin, ids = example_2
    # The content query alone matches the seed's table: trails 1, 2, 3, 4 and 6.
    r = admin.get("/api/audit/sessions", params={"content": "login", "fields": "psm"})
    assert r.status_code == 200, r.text
    trails = sorted(i["body"]["psm"]["content_reference_id"] for i in r.json()["items"])
    assert trails == [1, 2, 3, 4, 6]
    body = stats(admin, field="protocol", content="login", start="2017-01-02", end="2017-01-03",
                 q="psm.content_reference_id:[3 TO 6]")
    assert body["items"] == [{"count": 2, "value": "rdp"}]
    meta = body["meta"]
    assert (meta["href"], meta["parent"], meta["others"], meta["field"]) == (
        "/api/audit/sessions/stats", "/api/audit/sessions", 0, "protocol")


def test_seed_example_2_without_content_or_window(example_2):
    admin, _ = example_2
    # Without content, Echo (trail 5) is in; without the window, Foxtrot (6) too.
    body = stats(admin, field="protocol", start="2017-01-02", end="2017-01-03",
                 q="psm.content_reference_id:[3 TO 6]")
    assert body["items"] == [{"count": 3, "value": "rdp"}]
    body = stats(admin, field="protocol", content="login", q="psm.content_reference_id:[3 TO 6]")
    assert body["items"] == [{"count": 2, "value": "rdp"}, {"count": 1, "value": "ssh"}]


def test_numbers_and_dates_as_values(example_2):
    admin, _ = example_2
    body = stats(admin, field="psm.content_reference_id", size=3, q="protocol:rdp")
    assert body["items"] == [{"count": 1, "value": 3}, {"count": 1, "value": 4},
                             {"count": 1, "value": 5}]
    assert body["meta"]["others"] == 0
    body = stats(admin, field="start_time", size=1)
    assert body["items"] == [{"count": 3, "value": "2017-01-01T00:00:00.000000Z"}]
    assert body["meta"]["others"] == 3


def test_unset_values_are_not_counted(server):
    admin = server.login()
    root = admin.create("user", name="root", role="user", password="root-password")
    create_sessions(admin, [
        ("a", {"protocol": "ssh", "started_at": "2017-01-01", "user_id": root}),
        ("b", {"protocol": "ssh", "started_at": "2017-01-01", "user_id": root}),
        ("c", {"protocol": "ssh", "started_at": "2017-01-01"}),
    ])
    body = stats(admin, field="user.name")
    assert body["items"] == [{"count": 2, "value": "root"}]
    assert body["meta"]["others"] == 0


def test_roles(server):
    admin = server.login()
    operator = server.add_user(admin, "op", "operator")
    recorder = server.add_user(admin, "rec", "service")
    assert operator.get("/api/audit/sessions/stats", params={"field": "protocol"}).status_code == 200
    assert_error(recorder.get("/api/audit/sessions/stats", params={"field": "protocol"}),
                 403, "Forbidden")
    assert_error(server.anonymous().get("/api/audit/sessions/stats", params={"field": "protocol"}),
                 401, "Unauthenticated")


@pytest.mark.parametrize("params,status,error_type,field", [
    ({}, 400, "InvalidArgument", "field"),
    ({"field": "protocl"}, 400, "InvalidArgument", "field"),
    ({"field": "user"}, 400, "InvalidArgument", "field"),
    ({"field": "protocol", "size": "-1"}, 400, "InvalidArgument", "size"),
    ({"field": "protocol", "size": "ten"}, 400, "InvalidArgument", "size"),
    ({"field": "protocol", "colour": "red"}, 400, "InvalidArgument", "colour"),
    ({"field": "protocol", "q": "user_name:root"}, 400, "InvalidArgument", "user_name"),
    ({"field": "protocol", "q": "protocol:(ssh"}, 400, "InvalidQueryValue", "q"),
    ({"field": "protocol", "content": "*login"}, 400, "InvalidQueryValue", "content"),
    ({"field": "protocol", "content": "protocol:ssh"}, 400, "InvalidQueryValue", "protocol"),
    ({"field": "protocol", "start": "last tuesday"}, 400, "InvalidQueryValue", "start"),
    ({"field": "protocol", "start": "2017-01-03", "end": "2017-01-02"}, 400, "InvalidArgument",
     "end"),
])
def test_errors(shared_server, admin, params, status, error_type, field):
    r = admin.get("/api/audit/sessions/stats", params=params)
    error = assert_error(r, status, error_type)
    assert error["details"]["field"] == field
    if field in ("q", "content") and error_type == "InvalidQueryValue":
        assert isinstance(error["details"]["position"], int)
    meta = r.json()["meta"]
    assert meta["href"] == "/api/audit/sessions/stats"
    assert meta["remaining_seconds"] == 600
