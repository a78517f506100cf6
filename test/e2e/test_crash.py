"""Crash safety: kill -9 at random moments during concurrent content ingest loses nothing that was
acknowledged and leaves the index in agreement with the stored records; a full store answers 503
SearchUnavailable, loses nothing, and takes writes again once it may grow.
AUDEX_CRASH_ROUNDS sets the number of kill rounds (default 3; the full run uses 100)."""
import json
import os
import random
import threading
import time

import requests

from conftest import Client, assert_error

ROUNDS = int(os.environ.get("AUDEX_CRASH_ROUNDS", "3"))
WRITERS = 4
SESSION = {"protocol": "ssh", "started_at": "2022-04-05 16:06:07+02"}


def api_key(server):
    admin = server.login()
    uid = admin.list("user", filter="name:admin")[0]["id"]
    r = admin.post(f"/api/v2/user/{uid}/api_key")
    assert r.status_code == 200, r.text
    return r.json()["api_key"]


def record(begin):
    """A command record found by its own token (`tok<begin>`) and told apart by record_id."""
    return {"channel_id": 1, "type": "command", "text": f"echo tok{begin} done",
            "start_time": "2022-04-05T16:06:08Z",
            "record_id": {"begin": begin, "end": begin, "for_screenshot": begin}}


class Writer(threading.Thread):
    """Posts batches of 1 to 5 records to one session until the server goes away; remembers which
    were acknowledged and which were in flight when it went."""

    def __init__(self, server, key, sid, first_begin, seed):
        super().__init__(daemon=True)
        self.url = f"{server.url}/api/v2/session/{sid}/content"
        self.key, self.next, self.rng = key, first_begin, random.Random(seed)
        self.acked, self.in_flight = [], []

    def run(self):
        http = requests.Session()
        while True:
            batch = [record(self.next + i) for i in range(self.rng.randint(1, 5))]
            self.next += len(batch)
            if self.rng.random() < 0.5:
                data, kind = json.dumps(batch), "application/json"
            else:
                data, kind = "\n".join(json.dumps(r) for r in batch), "application/x-ndjson"
            begins = [r["record_id"]["begin"] for r in batch]
            try:
                r = http.post(self.url, data=data, timeout=30,
                              headers={"Authorization": self.key, "Content-Type": kind})
            except requests.RequestException:
                self.in_flight.append(begins)
                return
            assert r.status_code == 200, r.text
            assert r.json()["indexed"] == len(batch)
            self.acked += begins


def stored_events(client, sid):
    """The record_id.begin of every command record stored for the session, from /events."""
    begins, offset = [], 0
    while True:
        r = client.get(f"/api/audit/sessions/{sid}/events",
                       params={"limit": 10000, "offset": offset})
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        begins += [e["psm.events.record_id"] for e in items]
        for e in items:
            assert e["psm.events.content"] == f"echo tok{e['psm.events.record_id']} done", e
        if len(items) < 10000:
            return begins
        offset += 10000


def found(client, sid, begin):
    r = client.get(f"/api/audit/sessions/{sid}/content", params={"q": f"tok{begin}"})
    assert r.status_code == 200, r.text
    return [i["record_id"]["begin"] for i in r.json()["items"]]


def test_acknowledged_content_survives_kill_9_during_concurrent_ingest(server):
    key = api_key(server)
    admin = server.login()
    sids = [admin.create("session", **SESSION) for _ in range(WRITERS)]
    acked = {sid: set() for sid in sids}
    lost_in_flight = {sid: [] for sid in sids}  # batches whose answer never came
    rng = random.Random(int(os.environ.get("AUDEX_CRASH_SEED", "7")))
    next_begin = 1
    for round_no in range(ROUNDS):
        writers = []
        for sid in sids:
            writers.append(Writer(server, key, sid, next_begin, rng.random()))
            next_begin += 1_000_000
        for w in writers:
            w.start()
        time.sleep(rng.uniform(0.05, 0.6))
        server.kill()
        for w in writers:
            w.join(timeout=60)
            assert not w.is_alive()
        server.start()
        client = Client(server.url, key)
        this_round = []
        for sid, w in zip(sids, writers):
            acked[sid].update(w.acked)
            lost_in_flight[sid] += w.in_flight
            this_round += [(sid, b) for b in w.acked]
        for sid in sids:
            stored = stored_events(client, sid)
            assert len(stored) == len(set(stored)), "a record was stored twice"
            missing = acked[sid] - set(stored)
            assert not missing, f"round {round_no}: acknowledged records lost: {sorted(missing)[:10]}"
            # Beyond the acknowledged records only whole batches that were in flight may exist.
            extra = set(stored) - acked[sid]
            for batch in lost_in_flight[sid]:
                present = [b in extra for b in batch]
                assert all(present) or not any(present), f"a batch was half stored: {batch}"
                extra -= set(batch)
                if all(present):
                    acked[sid].update(batch)  # stored for good: later rounds must keep it
            assert not extra, f"records nobody sent: {sorted(extra)[:10]}"
            lost_in_flight[sid] = []
        # The index agrees with the store: every record of this round is found by its token.
        for sid, begin in this_round:
            assert found(client, sid, begin) == [begin], (round_no, sid, begin)
    assert sum(len(a) for a in acked.values()) > 0
    # At the end every record ever acknowledged is still found by a search.
    for sid in sids:
        for begin in sorted(acked[sid]):
            assert found(client, sid, begin) == [begin], (sid, begin)
    # A token that was never written is found nowhere.
    assert found(client, sids[0], 999_999_999) == []


def test_a_full_store_answers_503_loses_nothing_and_takes_writes_once_it_may_grow(
        server_factory):
    server = server_factory(args=["--max-store-mib", "2"])
    admin = server.login()
    sid = admin.create("session", **SESSION)
    filler = " ".join(f"word{i}" for i in range(3000))
    acked, begin = [], 1
    for _ in range(500):
        batch = [dict(record(begin + i), text=f"echo tok{begin + i} done {filler}")
                 for i in range(5)]
        r = admin.post(f"/api/v2/session/{sid}/content", json=batch)
        if r.status_code == 503:
            assert_error(r, 503, "SearchUnavailable")
            break
        assert r.status_code == 200, r.text
        acked += [x["record_id"]["begin"] for x in batch]
        begin += 5
    else:
        raise AssertionError("the store never filled up")
    assert acked, "the first write already failed"
    # Still serving: reads work, and the same write is refused again (a small one may still fit).
    assert_error(admin.post(f"/api/v2/session/{sid}/content", json=batch), 503,
                 "SearchUnavailable")
    assert admin.fetch("session", sid)["protocol"] == "ssh"
    events = [e["psm.events.record_id"] for e in admin.get(
        f"/api/audit/sessions/{sid}/events", params={"limit": 10000}).json()["items"]]
    assert events == acked
    # Space returns: the operator restarts with a larger limit; everything is there and new
    # writes are taken.
    server.stop()
    server.args = ["--max-store-mib", "64"]
    server.start()
    admin = server.login()
    for b in acked[:: max(1, len(acked) // 20)] + acked[-1:]:
        r = admin.get(f"/api/audit/sessions/{sid}/content", params={"q": f"tok{b}"})
        assert [i["record_id"]["begin"] for i in r.json()["items"]] == [b]
    r = admin.post(f"/api/v2/session/{sid}/content", json=[record(begin)])
    assert r.status_code == 200, r.text
    r = admin.get(f"/api/audit/sessions/{sid}/content", params={"q": f"tok{begin}"})
    assert [i["record_id"]["begin"] for i in r.json()["items"]] == [begin]
