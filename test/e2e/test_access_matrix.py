"""The access matrix: every endpoint × every role × scoped and unscoped × a valid, missing, expired
and revoked token, as one table. A session outside a scope is 404 wherever the role may reach it."""
import itertools
import time

import pytest
import requests

from conftest import PASSWORD, ROLES, Client, assert_error

SCOPE = "server.name:db*"
SESSION = {"protocol": "ssh", "started_at": "2018-01-15T12:00:00Z"}
RECORD = {"channel_id": 1, "type": "command", "text": "whoami",
          "start_time": "2018-01-15T12:00:01"}
_n = itertools.count()


class World:
    """A server with one session in SCOPE and one outside it, and a client per role and scope."""

    def __init__(self, server):
        self.server = server
        self.admin = server.login()
        self.db = self.admin.create("server", name="db-matrix")
        self.inside = self.session()
        self.outside = self.admin.create("session", **SESSION)
        for sid in (self.inside, self.outside):
            assert self.admin.post(f"/api/v2/session/{sid}/content", json=[RECORD]).status_code == 200
        self.backup = self.admin.create("backup", name="matrix-backup")
        self.clients = {}
        for role, scoped in itertools.product(ROLES, (False, True)):
            name = f"matrix-{role}-{'scoped' if scoped else 'all'}"
            attrs = {"scope": SCOPE} if scoped else {}
            self.admin.create("user", name=name, role=role, password=PASSWORD, **attrs)
            if role == "user":  # may not log in: it sends Basic credentials
                self.clients[role, scoped] = Client(
                    server.url, requests.auth._basic_auth_str(name, PASSWORD))
            else:
                self.clients[role, scoped] = server.login(name, PASSWORD)

    def session(self):
        return self.admin.create("session", server_id=self.db, **SESSION)


@pytest.fixture(scope="module")
def world(shared_server):
    return World(shared_server)


# Each endpoint: (method, path or a function of the world and the session it targets, body).
# `target` is the session a per-session endpoint names: "inside" or "outside" the scope.
ENDPOINTS = {
    "v2 session list": ("GET", lambda w, s: "/api/v2/session", None),
    "v2 session get": ("GET", lambda w, s: f"/api/v2/session/{s}", None),
    "v2 session create": ("POST", lambda w, s: "/api/v2/session", SESSION),
    "v2 session patch": ("PATCH", lambda w, s: f"/api/v2/session/{s}", {"status": "terminated"}),
    "v2 session delete": ("DELETE", None, None),
    "v2 content": ("POST", lambda w, s: f"/api/v2/session/{s}/content", [RECORD]),
    "v2 backup": ("POST", lambda w, s: f"/api/v2/session/{s}/backup/{w.backup}", None),
    "v2 objspec": ("GET", lambda w, s: "/api/v2/objspec/session", None),
    "v2 user list": ("GET", lambda w, s: "/api/v2/user", None),
    "v2 server create": ("POST", lambda w, s: "/api/v2/server",
                         lambda: {"name": f"matrix-server-{next(_n)}"}),
    "v2 batch get": ("POST", lambda w, s: "/api/v2/batch",
                     lambda: {"requests": [{"endpoint": "/session"}]}),
    "audit list": ("GET", lambda w, s: "/api/audit/sessions", None),
    "audit csv": ("GET", lambda w, s: "/api/audit/sessions?format=csv", None),
    "audit view": ("GET", lambda w, s: f"/api/audit/sessions/{s}", None),
    "audit stats": ("GET", lambda w, s: "/api/audit/sessions/stats?field=protocol", None),
    "audit histogram": ("GET", lambda w, s: "/api/audit/sessions/histogram?start=2018-01-15"
                        "&end=2018-01-16&bin_size=hour", None),
    "audit content": ("GET", lambda w, s: f"/api/audit/sessions/{s}/content?q=whoami", None),
    "audit events": ("GET", lambda w, s: f"/api/audit/sessions/{s}/events", None),
    "audit alerts": ("GET", lambda w, s: f"/api/audit/sessions/{s}/alerts", None),
    "activity log": ("GET", lambda w, s: "/api/audit/activity?limit=1", None),
    "authentication": ("GET", lambda w, s: "/api/authentication", None),
}
PER_SESSION = {"v2 session get", "v2 session patch", "v2 session delete", "v2 content", "v2 backup",
               "audit view", "audit content", "audit events", "audit alerts"}

#                          user service operator admin superadmin
ALLOWED = {
    "v2 session list":    [403, 403, 200, 200, 200],
    "v2 session get":     [403, 403, 200, 200, 200],
    "v2 session create":  [403, 200, 403, 200, 200],
    "v2 session patch":   [403, 200, 403, 200, 200],
    "v2 session delete":  [403, 403, 403, 200, 200],
    "v2 content":         [403, 200, 403, 200, 200],
    "v2 backup":          [403, 403, 403, 200, 200],
    "v2 objspec":         [403, 403, 200, 200, 200],
    "v2 user list":       [403, 403, 200, 200, 200],
    "v2 server create":   [403, 403, 403, 200, 200],
    "v2 batch get":       [403, 200, 200, 200, 200],
    "audit list":         [403, 403, 200, 200, 200],
    "audit csv":          [403, 403, 200, 200, 200],
    "audit view":         [403, 403, 200, 200, 200],
    "audit stats":        [403, 403, 200, 200, 200],
    "audit histogram":    [403, 403, 200, 200, 200],
    "audit content":      [403, 403, 200, 200, 200],
    "audit events":       [403, 403, 200, 200, 200],
    "audit alerts":       [403, 403, 200, 200, 200],
    "activity log":       [403, 403, 403, 200, 200],
    "authentication":     [403, 200, 200, 200, 200],
}


def call(world, client, endpoint, target):
    method, path, body = ENDPOINTS[endpoint]
    sid = world.inside if target == "inside" else world.outside
    if endpoint == "v2 session delete":  # a fresh session each time, so that one is there
        sid = world.session() if target == "inside" else world.admin.create("session", **SESSION)
        path = lambda w, s: f"/api/v2/session/{s}"  # noqa: E731
    body = body() if callable(body) else body
    return client.request(method, path(world, sid), json=body)


def expected(endpoint, role, scoped, target):
    status = ALLOWED[endpoint][ROLES.index(role)]
    if status == 200 and scoped and target == "outside" and endpoint in PER_SESSION:
        return 404
    return status


CASES = [(e, r, s, t) for e in ENDPOINTS for r in ROLES for s in (False, True)
         for t in (("inside", "outside") if e in PER_SESSION else ("inside",))]


@pytest.mark.parametrize("endpoint,role,scoped,target", CASES)
def test_access_matrix(world, endpoint, role, scoped, target):
    r = call(world, world.clients[role, scoped], endpoint, target)
    want = expected(endpoint, role, scoped, target)
    if want == 200:
        assert r.status_code == 200, r.text
        if scoped and endpoint in ("v2 session list", "audit list"):
            assert str(world.outside) not in r.text and str(world.inside) in r.text
    else:
        assert_error(r, want, {403: "Forbidden", 404: "NotFound"}[want])


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_no_token_is_401_everywhere(world, endpoint):
    assert_error(call(world, Client(world.server.url), endpoint, "inside"), 401, "Unauthenticated")


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_a_revoked_token_is_401_everywhere(world, endpoint):
    c = world.server.login("matrix-admin-all", PASSWORD)
    assert c.delete("/api/authentication").status_code == 200
    assert_error(call(world, c, endpoint, "inside"), 401, "Unauthenticated")


def test_an_expired_token_is_401_everywhere(server_factory):
    server = server_factory(session_timeout=1)
    world = World(server)
    clients = [c for (role, _), c in world.clients.items() if role != "user"]
    time.sleep(1.5)
    world.admin = server.login()  # prepares what the endpoints need
    for endpoint in ENDPOINTS:
        for c in clients:
            assert_error(call(world, c, endpoint, "inside"), 401, "Unauthenticated")
