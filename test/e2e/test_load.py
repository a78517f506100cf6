"""audex-load against the real server: a mix of every request kind runs without errors and its
JSON report holds each kind; the target rate is kept; TLS works; a bad scenario is refused."""
import json
import pathlib
import subprocess

import pytest

from conftest import ADMIN_PASSWORD, BINARY

LOAD = pathlib.Path(BINARY).parent / "tools" / "audex-load"
KINDS = ["search", "content_search", "stats", "histogram", "get", "list", "ingest", "login"]


def scenario(server, **members):
    s = {"url": server.url, "username": "admin", "password": ADMIN_PASSWORD,
         "connections": 8, "duration": 2,
         "requests": [
             {"kind": "search", "weight": 10, "params": {"q": "protocol:ssh", "limit": 50}},
             {"kind": "content_search", "weight": 5, "params": {"q": "sudo"}},
             {"kind": "stats", "weight": 2, "params": {"field": "protocol"}},
             {"kind": "histogram", "weight": 2, "params": {"bin_size": "day"}},
             {"kind": "get", "weight": 20},
             {"kind": "list", "weight": 5, "params": {"limit": 100}},
             {"kind": "ingest", "weight": 8, "records": 5},
             {"kind": "login", "weight": 1}]}
    s.update(members)
    return s


def run_load(tmp_path, spec, *args):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(spec))
    out = tmp_path / "report.json"
    proc = subprocess.run([str(LOAD), str(path), "--json", str(out), *args],
                          capture_output=True, text=True, timeout=120)
    report = json.loads(out.read_text()) if out.exists() else None
    return proc, report


def test_a_mixed_run_prepares_its_data_and_reports_every_kind(server, tmp_path):
    proc, report = run_load(tmp_path, scenario(server, prepare={"sessions": 20, "records": 30},
                                               interval=1))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report["errors"] == 0 and report["errors_by_type"] == {}
    assert report["requests"] > 0 and report["throughput"] > 0
    assert report["target_rate"] is None and report["connections"] == 8
    assert set(report["kinds"]) == set(KINDS) | {"login.logout"}
    for name, kind in report["kinds"].items():
        assert kind["requests"] > 0 and kind["errors"] == 0, name
        lat = kind["latency_ms"]
        assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"], name
    assert sum(k["requests"] for k in report["kinds"].values()) == report["requests"]
    assert sum(i["requests"] for i in report["intervals"]) == report["requests"]
    assert report["kinds"]["login"]["requests"] == report["kinds"]["login.logout"]["requests"]
    # The human table names every kind too.
    for name in KINDS:
        assert f"\n{name} " in proc.stdout

    # The prepared sessions hold their content and what the run ingested.
    admin = server.login()
    ids = admin.ids("session", limit=1000)
    assert len(ids) == 20
    hits = admin.get("/api/audit/sessions?content=sudo").json()["meta"]["match_count"]
    assert hits == 20
    stored = 20 * 30 + report["kinds"]["ingest"]["requests"] * 5
    events = sum(len(admin.get(f"/api/audit/sessions/{i}/events", params={"limit": 10000})
                     .json()["items"]) for i in ids)
    # Events are the commands and window titles: every record but the screens, which are the
    # records numbered 1, 5, 9, ... of the run.
    assert events == stored - (stored + 3) // 4


def test_a_target_rate_sends_its_schedule(server, tmp_path):
    admin = server.login()
    sid = admin.create("session", protocol="ssh", started_at="2026-01-02T03:04:05Z")
    spec = scenario(server, rate=200, duration=2, session_ids=[sid],
                    requests=[{"kind": "get", "weight": 3}, {"kind": "search", "weight": 1}])
    proc, report = run_load(tmp_path, spec)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Request n is due n / rate seconds after the start: 400 in 2 s, whatever the connections.
    assert report["requests"] == 400 and report["errors"] == 0
    assert report["target_rate"] == 200
    assert report["kinds"]["get"]["requests"] > report["kinds"]["search"]["requests"] > 0


def test_tls_and_existing_sessions(server_factory, tmp_path):
    server = server_factory(plain=False)
    admin = server.login()
    for n in range(3):
        admin.create("session", protocol="rdp", started_at=f"2026-01-0{n + 1}T00:00:00Z")
    spec = scenario(server, duration=1, connections=4,
                    requests=[{"kind": "get"}, {"kind": "ingest", "records": 2}])
    proc, report = run_load(tmp_path, spec)
    assert server.url.startswith("https://")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report["errors"] == 0 and report["kinds"]["get"]["requests"] > 0
    assert len(admin.ids("session")) == 3  # nothing prepared: the listed sessions were used


def test_errors_are_counted_by_status_and_type(server, tmp_path):
    spec = scenario(server, duration=1, connections=2, session_ids=["123456"],
                    requests=[{"kind": "get"}, {"kind": "search", "params": {"q": "*x"}}])
    proc, report = run_load(tmp_path, spec)
    assert proc.returncode == 1
    kinds = report["kinds"]
    assert report["errors"] == report["requests"] > 0
    assert report["errors_by_type"] == {"NotFound": kinds["get"]["errors"],
                                        "InvalidQueryValue": kinds["search"]["errors"]}
    assert report["errors_by_status"] == {"404": kinds["get"]["errors"],
                                          "400": kinds["search"]["errors"]}


@pytest.mark.parametrize("change, message", [
    ({"requests": [{"kind": "get", "wieght": 2}]}, "requests[0].wieght: unknown member"),
    ({"password": "wrong-password"}, "login as admin: HTTP 401"),
    ({"url": "ftp://127.0.0.1"}, "bad url"),
])
def test_a_run_that_cannot_start_says_why(server, tmp_path, change, message):
    proc, report = run_load(tmp_path, scenario(server, **change))
    assert proc.returncode == 2 and report is None
    assert message in proc.stderr
