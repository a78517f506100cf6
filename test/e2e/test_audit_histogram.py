"""GET /api/audit/sessions/histogram (API.md section 4, seed 002): bins for every bin_size, start
and active counts with zero bins, q, time zones across daylight-saving changes, the default
window and the errors."""
import datetime

import pytest

from conftest import assert_error


@pytest.fixture(scope="module")
def sessions(shared_server):
    admin = shared_server.login()
    spans = [
        ("ssh", "2018-01-15T12:10:00Z", "2018-01-15T12:20:00Z"),
        ("ssh", "2018-01-15T12:40:00Z", "2018-01-15T14:05:00Z"),
        ("rdp", "2018-01-15T13:00:00Z", "2018-01-15T13:00:30Z"),
        ("rdp", "2018-01-15T09:00:00Z", "2018-01-15T12:00:00Z"),  # ends on 12:00's first instant
        ("ssh", "2018-01-17T10:00:00Z", "2018-01-17T10:00:01Z"),
        # around the end of summer time in Budapest (2022-10-30 03:00 CEST -> 02:00 CET)
        ("ssh", "2022-10-30T00:30:00Z", "2022-10-30T00:40:00Z"),  # 02:30 CEST
        ("ssh", "2022-10-30T01:30:00Z", "2022-10-30T01:40:00Z"),  # 02:30 CET
        ("vnc", "2022-10-30T23:30:00Z", "2022-10-30T23:40:00Z"),  # 00:30 CET on the 31st
    ]
    for protocol, start, end in spans:
        admin.create("session", protocol=protocol, started_at=start, finished_at=end)
    return admin


def histogram(client, **params):
    r = client.get("/api/audit/sessions/histogram", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def table(body):
    return [(b["id"], b["start_count"], b["active_count"]) for b in body["body"]["buckets"]]


def test_hour_bins_with_zero_bins_and_meta(sessions):
    body = histogram(sessions, start="2018-01-15T10:00:00Z", end="2018-01-15T15:30:00Z",
                     bin_size="hour")
    assert table(body) == [
        ("2018-01-15T10:00:00.000Z", 0, 1),
        ("2018-01-15T11:00:00.000Z", 0, 1),
        ("2018-01-15T12:00:00.000Z", 2, 3),
        ("2018-01-15T13:00:00.000Z", 1, 2),
        ("2018-01-15T14:00:00.000Z", 0, 1),
        ("2018-01-15T15:00:00.000Z", 0, 0),
    ]
    assert set(body["body"]["buckets"][0]) == {"active_count", "id", "start_count"}
    assert body["key"] == "histogram"
    assert body["meta"] == {"bin_size": "hour", "start": "2018-01-15T10:00:00+00:00",
                            "end": "2018-01-15T15:30:00+00:00", "time_zone": "Etc/UTC",
                            "href": "/api/audit/sessions/histogram",
                            "parent": "/api/audit/sessions", "remaining_seconds": 600}


@pytest.mark.parametrize("bin_size,start,end,expected", [
    ("second", "2018-01-17T09:59:59Z", "2018-01-17T10:00:01.5Z", [
        ("2018-01-17T09:59:59.000Z", 0, 0), ("2018-01-17T10:00:00.000Z", 1, 1),
        ("2018-01-17T10:00:01.000Z", 0, 1)]),
    ("minute", "2018-01-15T13:00:00Z", "2018-01-15T13:02:00Z", [
        ("2018-01-15T13:00:00.000Z", 1, 2), ("2018-01-15T13:01:00.000Z", 0, 1),
        ("2018-01-15T13:02:00.000Z", 0, 1)]),
    ("day", "2018-01-14T18:00:00Z", "2018-01-17T00:00:00Z", [
        ("2018-01-14T00:00:00.000Z", 0, 0), ("2018-01-15T00:00:00.000Z", 4, 4),
        ("2018-01-16T00:00:00.000Z", 0, 0), ("2018-01-17T00:00:00.000Z", 1, 1)]),
    # ISO weeks begin on Monday: 2018-01-15 is one, 2018-01-14 a Sunday
    ("week", "2018-01-14T00:00:00Z", "2018-01-21T23:59:59Z", [
        ("2018-01-08T00:00:00.000Z", 0, 0), ("2018-01-15T00:00:00.000Z", 5, 5)]),
    ("month", "2017-12-31T00:00:00Z", "2018-02-01T00:00:00Z", [
        ("2017-12-01T00:00:00.000Z", 0, 0), ("2018-01-01T00:00:00.000Z", 5, 5),
        ("2018-02-01T00:00:00.000Z", 0, 0)]),
    ("year", "2017-06-01T00:00:00Z", "2019-01-01T00:00:00Z", [
        ("2017-01-01T00:00:00.000Z", 0, 0), ("2018-01-01T00:00:00.000Z", 5, 5),
        ("2019-01-01T00:00:00.000Z", 0, 0)]),
])
def test_every_bin_size(sessions, bin_size, start, end, expected):
    body = histogram(sessions, start=start, end=end, bin_size=bin_size)
    assert table(body) == expected
    assert body["meta"]["bin_size"] == bin_size


def test_bin_size_with_a_hyphen(sessions):
    body = histogram(sessions, **{"start": "2018-01-15", "end": "2018-01-16", "bin-size": "day"})
    assert body["meta"]["bin_size"] == "day"
    assert [b["id"] for b in body["body"]["buckets"]] == ["2018-01-15T00:00:00.000Z",
                                                         "2018-01-16T00:00:00.000Z"]


def test_q_narrows_the_sessions(sessions):
    body = histogram(sessions, start="2018-01-15T12:00:00Z", end="2018-01-15T13:59:00Z",
                     bin_size="hour", q="protocol:rdp")
    assert table(body) == [("2018-01-15T12:00:00.000Z", 0, 1), ("2018-01-15T13:00:00.000Z", 1, 1)]


def test_budapest_hours_across_the_end_of_summer_time(sessions):
    body = histogram(sessions, start="2022-10-30T00:00:00+02:00", end="2022-10-30T04:00:00+01:00",
                     bin_size="hour", time_zone="Europe/Budapest")
    assert table(body) == [
        ("2022-10-30T00:00:00.000+02:00", 0, 0),
        ("2022-10-30T01:00:00.000+02:00", 0, 0),
        ("2022-10-30T02:00:00.000+02:00", 1, 1),
        ("2022-10-30T02:00:00.000+01:00", 1, 1),
        ("2022-10-30T03:00:00.000+01:00", 0, 0),
        ("2022-10-30T04:00:00.000+01:00", 0, 0),
    ]
    meta = body["meta"]
    assert meta["time_zone"] == "Europe/Budapest"
    assert meta["start"] == "2022-10-30T00:00:00+02:00"
    assert meta["end"] == "2022-10-30T04:00:00+01:00"


def test_budapest_days_follow_local_midnight(sessions):
    body = histogram(sessions, start="2022-10-29", end="2022-10-31", bin_size="day",
                     time_zone="Europe/Budapest")
    # 2022-10-29T00:00Z is already 02:00 on the 29th in Budapest; the 30th lasts 25 hours
    assert table(body) == [
        ("2022-10-29T00:00:00.000+02:00", 0, 0),
        ("2022-10-30T00:00:00.000+02:00", 2, 2),
        ("2022-10-31T00:00:00.000+01:00", 1, 1),
    ]
    # In UTC the last session is still on the 30th.
    utc = histogram(sessions, start="2022-10-29", end="2022-10-31", bin_size="day")
    assert table(utc) == [
        ("2022-10-29T00:00:00.000Z", 0, 0),
        ("2022-10-30T00:00:00.000Z", 3, 3),
        ("2022-10-31T00:00:00.000Z", 0, 0),
    ]


def test_the_default_window_is_the_last_month_by_month(shared_server, sessions):
    sid = sessions.create("session", protocol="telnet",
                          started_at=datetime.datetime.now(datetime.timezone.utc)
                          .strftime("%Y-%m-%dT%H:%M:%SZ"))
    try:
        body = histogram(sessions)
        meta = body["meta"]
        assert meta["bin_size"] == "month" and meta["time_zone"] == "Etc/UTC"
        end = datetime.datetime.fromisoformat(meta["end"])
        start = datetime.datetime.fromisoformat(meta["start"])
        now = datetime.datetime.now(datetime.timezone.utc)
        assert abs((now - end).total_seconds()) < 60
        assert 28 <= (end - start).days <= 31
        buckets = body["body"]["buckets"]
        assert len(buckets) == 2  # the month one month ago and this month
        this_month = now.strftime("%Y-%m-01T00:00:00.000Z")
        assert buckets[1]["id"] == this_month
        assert buckets[1]["start_count"] == 1 and buckets[1]["active_count"] == 1
        assert buckets[0]["start_count"] == 0 and buckets[0]["active_count"] == 0
    finally:
        assert sessions.delete(f"/api/v2/session/{sid}").status_code == 200


def test_an_active_session_is_active_up_to_now(shared_server, sessions):
    now = datetime.datetime.now(datetime.timezone.utc)
    started = now - datetime.timedelta(hours=3)
    sid = sessions.create("session", protocol="telnet",
                          started_at=started.strftime("%Y-%m-%dT%H:%M:%SZ"))
    try:
        body = histogram(sessions, start=(now - datetime.timedelta(hours=5)).isoformat(),
                         end=(now + datetime.timedelta(hours=2)).isoformat(), bin_size="hour",
                         q="protocol:telnet")
        counts = [(b["start_count"], b["active_count"]) for b in body["body"]["buckets"]]
        assert len(counts) == 8
        assert counts == [(0, 0), (0, 0), (1, 1), (0, 1), (0, 1), (0, 1), (0, 0), (0, 0)]
    finally:
        assert sessions.delete(f"/api/v2/session/{sid}").status_code == 200


@pytest.mark.parametrize("params,status,error_type", [
    ({"content": "login"}, 400, "NotSupportedContentOption"),
    ({"content": ""}, 400, "NotSupportedContentOption"),
    ({"bin_size": "second", "start": "2018-01-01", "end": "2018-01-02"}, 400,
     "TooMuchBucketsInResult"),
    ({"bin_size": "fortnight"}, 400, "InvalidArgument"),
    ({"time_zone": "Mars/Olympus_Mons"}, 400, "InvalidArgument"),
    ({"start": "2018-01-02", "end": "2018-01-01"}, 400, "InvalidArgument"),
    ({"start": "yesterday"}, 400, "InvalidQueryValue"),
    ({"q": "protocol:"}, 400, "InvalidQueryValue"),
    ({"q": "nothing:ssh"}, 400, "InvalidArgument"),
    ({"size": "10"}, 400, "InvalidArgument"),
])
def test_errors(sessions, params, status, error_type):
    r = sessions.get("/api/audit/sessions/histogram", params=params)
    assert_error(r, status, error_type)
    meta = r.json()["meta"]
    assert meta["href"] == "/api/audit/sessions/histogram"
    assert meta["parent"] == "/api/audit/sessions"
    assert meta["remaining_seconds"] == 600


def test_ten_thousand_bins_are_allowed(sessions):
    body = histogram(sessions, bin_size="second", start="2018-01-01T00:00:00Z",
                     end="2018-01-01T02:46:39Z")
    assert len(body["body"]["buckets"]) == 10000
