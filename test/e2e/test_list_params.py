"""List parameters (API.md section 3): filter, order, limit/offset, fields, and unknown names."""
import time

import pytest

from conftest import assert_error

# name -> attributes; the module's server holds exactly these sessions, created in this order. A
# session's id grows with its start: in id order they are s5, s1, s2, s3, s4.
SESSIONS = {
    "s1": {"protocol": "ssh", "started_at": "2022-04-01 10:00:00+00", "source_port": 1000,
           "status": "approved", "source_ip": "10.0.0.9"},
    "s2": {"protocol": "ssh", "started_at": "2022-04-03 10:00:00+00", "source_port": 3000,
           "status": "terminated", "source_ip": "10.0.0.10"},
    "s3": {"protocol": "rdp", "started_at": "2022-04-05 16:06:07.313862+02", "source_port": 2000,
           "status": "approved", "source_ip": "192.168.1.1"},
    "s4": {"protocol": "vnc", "started_at": "2022-05-01T00:00:00Z", "source_port": 500,
           "retention_locked": True},
    "s5": {"protocol": "telnet", "started_at": "2021-12-31T23:59:59.999999Z", "paused": True},
}


@pytest.fixture(scope="module")
def ids(admin):
    return {name: admin.create("session", **attrs) for name, attrs in SESSIONS.items()}


def names(admin, ids, **params):
    by_id = {v: k for k, v in ids.items()}
    return [by_id[i] for i in admin.ids("session", **params)]


@pytest.mark.parametrize("query, expected", [
    ("protocol:ssh", ["s1", "s2"]),
    ("protocol:SSH", ["s1", "s2"]),
    ("protocol:ssh AND status:terminated", ["s2"]),
    ("protocol:ssh OR protocol:rdp", ["s1", "s2", "s3"]),
    ("protocol:(ssh OR vnc)", ["s1", "s2", "s4"]),
    ("NOT protocol:ssh", ["s5", "s3", "s4"]),
    ("protocol:ssh AND NOT status:approved", ["s2"]),
    ("-protocol:ssh -protocol:rdp", ["s5", "s4"]),
    ("(protocol:ssh OR protocol:rdp) AND status:approved", ["s1", "s3"]),
    ("started_at:[2022-04-01 TO 2022-04-05]", ["s1", "s2", "s3"]),
    ("started_at:[2022-04-02T00:00:00Z TO *]", ["s2", "s3", "s4"]),
    ("started_at:{2022-04-01T10:00:00Z TO 2022-05-01T00:00:00Z}", ["s2", "s3"]),
    ('started_at:["2022-04-05 16:06:07.313862+02" TO *]', ["s3", "s4"]),
    ('started_at:{"2022-04-05 14:06:07.313862+00" TO *]', ["s4"]),
    ("started_at:<2022-01-01", ["s5"]),
    ("started_at:>=2022-04-05", ["s3", "s4"]),
    ("started_at:2022-04-05", ["s3"]),
    ("source_port:[1000 TO 2000]", ["s1", "s3"]),
    ("source_port:>2000", ["s2"]),
    ("source_ip:[10.0.0.0 TO 10.0.0.255]", ["s1", "s2"]),
    ("source_ip:10.0.0.10", ["s2"]),
    ("retention_locked:true", ["s4"]),
    ("paused:true OR retention_locked:true", ["s5", "s4"]),
    ("_exists_:status", ["s1", "s2", "s3"]),
    ("status:appr*", ["s1", "s3"]),
    ("*:*", ["s5", "s1", "s2", "s3", "s4"]),
])
def test_filter(admin, ids, query, expected):
    assert names(admin, ids, filter=query) == expected


@pytest.mark.parametrize("query", ["protocol:(ssh", "protocol:ssh AND", "started_at:[2022 TO",
                                   'protocol:"ssh', "status:*ved"])
def test_malformed_filter_is_invalid_query_value_with_position(admin, ids, query):
    err = assert_error(admin.get("/api/v2/session", params={"filter": query}), 400,
                       "InvalidQueryValue")
    assert isinstance(err["details"]["position"], int)
    assert 0 <= err["details"]["position"] <= len(query)


def test_bad_date_in_filter_is_invalid_query_value(admin, ids):
    r = admin.get("/api/v2/session", params={"filter": "started_at:[yesterday TO *]"})
    assert_error(r, 400, "InvalidQueryValue")


def test_unknown_attribute_in_filter_is_invalid_argument(admin, ids):
    err = assert_error(admin.get("/api/v2/session", params={"filter": "colour:red"}), 400,
                       "InvalidArgument")
    assert "field" in err["details"]


@pytest.mark.parametrize("order, expected", [
    ("-started_at", ["s4", "s3", "s2", "s1", "s5"]),
    ("started_at", ["s5", "s1", "s2", "s3", "s4"]),
    ("+started_at", ["s5", "s1", "s2", "s3", "s4"]),
    ("protocol,-started_at", ["s3", "s2", "s1", "s5", "s4"]),
    ("-protocol,started_at", ["s4", "s5", "s1", "s2", "s3"]),
    ("source_port", ["s4", "s1", "s3", "s2", "s5"]),  # unset last
    ("-id", ["s4", "s3", "s2", "s1", "s5"]),
    ("id", ["s5", "s1", "s2", "s3", "s4"]),
])
def test_order(admin, ids, order, expected):
    assert names(admin, ids, order=order) == expected


def test_order_with_filter(admin, ids):
    assert names(admin, ids, filter="protocol:ssh", order="-started_at") == ["s2", "s1"]


@pytest.mark.parametrize("params, expected", [
    ({"limit": 2}, ["s5", "s1"]),
    ({"limit": 2, "offset": 2}, ["s2", "s3"]),
    ({"offset": 4}, ["s4"]),
    ({"offset": 9}, []),
    ({"limit": 0}, []),
    ({"order": "-started_at", "limit": 2, "offset": 1}, ["s3", "s2"]),
    ({"filter": "protocol:ssh OR protocol:rdp", "limit": 1, "offset": 1}, ["s2"]),
])
def test_limit_and_offset(admin, ids, params, expected):
    assert names(admin, ids, **params) == expected


def test_limit_defaults_to_100(admin, ids):
    extra = [admin.create("server", name=f"limit-{i}") for i in range(105)]
    assert len(admin.list("server")) == 100
    assert len(admin.list("server", limit=10000)) == 105
    for sid in extra:
        admin.delete(f"/api/v2/server/{sid}")


@pytest.mark.parametrize("value", ["10001", "-1", "abc", "1.5", ""])
def test_bad_limit_is_invalid_argument(admin, ids, value):
    err = assert_error(admin.get("/api/v2/session", params={"limit": value}), 400, "InvalidArgument")
    assert err["details"]["field"] == "limit"


def test_bad_offset_is_invalid_argument(admin, ids):
    err = assert_error(admin.get("/api/v2/session", params={"offset": "x"}), 400, "InvalidArgument")
    assert err["details"]["field"] == "offset"


def test_fields_selects_attributes(admin, ids):
    items = admin.list("session", fields="id,protocol")
    assert [set(i) for i in items] == [{"id", "protocol"}] * 5
    assert [i["protocol"] for i in items] == ["telnet", "ssh", "ssh", "rdp", "vnc"]


def test_fields_leaves_unset_attributes_out(admin, ids):
    items = admin.list("session", fields="status", filter="protocol:vnc OR protocol:ssh")
    assert items == [{"status": "approved"}, {"status": "terminated"}, {}]


def test_fields_on_get_by_id(admin, ids):
    assert admin.fetch("session", ids["s3"], fields="protocol,source_port") == {
        "protocol": "rdp", "source_port": 2000}


@pytest.mark.parametrize("param, value", [("fields", "id,colour"), ("order", "colour"),
                                          ("order", "-colour"), ("fields", "password")])
def test_unknown_attribute_in_a_parameter_is_invalid_argument(admin, ids, param, value):
    err = assert_error(admin.get("/api/v2/session", params={param: value}), 400, "InvalidArgument")
    assert err["details"]["field"] == param


def test_unknown_parameter_is_invalid_argument(admin, ids):
    err = assert_error(admin.get("/api/v2/session", params={"sort": "id"}), 400, "InvalidArgument")
    assert err["details"]["field"] == "sort"
    err = assert_error(admin.get(f"/api/v2/session/{ids['s1']}", params={"limit": "1"}), 400,
                       "InvalidArgument")
    assert err["details"]["field"] == "limit"


def test_filter_works_on_other_models(admin, ids):
    admin.create("listener", name="Filter-Listener", protocol="tn3270", port=23)
    items = admin.list("listener", filter="protocol:tn3270 AND port:23", fields="name")
    assert items == [{"name": "Filter-Listener"}]
    assert admin.list("listener", filter="name:filter-listener", fields="name") == items


def test_a_fuzzy_filter_against_a_600_kb_value_answers_quickly(admin):
    """The whole edit-distance table of an 8,000-byte term against a 600 kB value took seconds on
    an I/O thread (6.6 s once); a value whose length differs from the term's by more than
    the distance cannot match and is not compared, and close lengths cost O(length x distance)."""
    long = admin.create("session", protocol="ssh", started_at="2019-03-01T10:00:00Z",
                        reason="q" * 600_000)
    near = admin.create("session", protocol="ssh", started_at="2019-03-01T11:00:00Z",
                        reason="Maintenance")

    def selected(query):
        started = time.monotonic()
        r = admin.get("/api/v2/session", params={"filter": query, "fields": "id"}, timeout=60)
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()["session"]], time.monotonic() - started

    found, took = selected("reason:" + "q" * 8000 + "~2")
    assert found == [] and took < 2, took
    assert selected("reason:maintenanse~1")[0] == [near]
    assert selected("reason:maintenanse~0")[0] == []
    assert selected("reason:mintenanse~2")[0] == [near]
    assert selected("reason:q*")[0] == [long]
