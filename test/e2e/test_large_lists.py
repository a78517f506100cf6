"""Large lists (API.md section 3): 2,000 sessions come back complete, streamed with chunked encoding."""
import pytest

N = 2000


@pytest.fixture(scope="module")
def sids(admin):
    created = []
    for start in range(0, N, 500):
        r = admin.post("/api/v2/batch", json={"requests": [
            {"method": "POST", "endpoint": "/session",
             "data": {"protocol": "ssh" if i % 2 else "rdp",
                      "started_at": f"2022-04-05T10:{(i // 60) % 60:02d}:{i % 60:02d}Z",
                      "source_port": i}}
            for i in range(start, start + 500)]})
        assert r.status_code == 200, r.text
        created += [x["session"]["id"] for x in r.json()["responses"]]
    assert len(created) == N
    return created


def test_a_list_of_2000_comes_back_complete_and_chunked(admin, sids):
    r = admin.get("/api/v2/session", params={"limit": 10000})
    assert r.status_code == 200
    assert r.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in r.headers
    body = r.json()
    assert body["result"] == "success"
    assert [s["id"] for s in body["session"]] == sids


def test_a_sorted_list_of_2000_comes_back_complete(admin, sids):
    r = admin.get("/api/v2/session", params={"limit": 10000, "order": "-source_port"})
    assert r.status_code == 200
    assert r.headers.get("Transfer-Encoding") == "chunked"
    assert [s["id"] for s in r.json()["session"]] == sids[::-1]


def test_a_filtered_list_pages_through_all(admin, sids):
    seen = []
    for offset in range(0, N, 300):
        seen += admin.ids("session", filter="protocol:ssh", limit=300, offset=offset)
    assert seen == sids[1::2]


def test_offset_and_limit_over_a_large_list(admin, sids):
    assert admin.ids("session", offset=1500, limit=10) == sids[1500:1510]
    assert admin.ids("session", offset=1995) == sids[1995:]
    assert len(admin.ids("session")) == 100


def test_fields_on_a_large_list(admin, sids):
    items = admin.list("session", fields="source_port", limit=10000)
    assert [i["source_port"] for i in items] == list(range(N))
