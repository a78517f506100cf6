"""Fixtures for the end-to-end tests: the real audex binary as a server, and a small API client."""
import http.cookiejar
import os
import pathlib
import signal
import socket
import subprocess
import time

import pytest
import requests
import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

REPO = pathlib.Path(__file__).resolve().parents[2]
BINARY = os.environ.get("AUDEX_BINARY") or str(REPO / "build" / "audex")
ADMIN_PASSWORD = "e2e-admin-password"
# A password for the users the tests create (at least 8 characters).
PASSWORD = "e2e-user-password"
ROLES = ["user", "service", "operator", "admin", "superadmin"]


def pytest_configure(config):
    # pytest's own warning filters would show urllib3's warning about the self-signed certificate.
    config.addinivalue_line("filterwarnings",
                            "ignore::urllib3.exceptions.InsecureRequestWarning")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """Speaks to one server with one token: `Authorization: <token>` on every request."""

    def __init__(self, base, token=None):
        self.base = base
        self.token = token
        self.http = requests.Session()
        self.http.verify = False
        # Cookies are sent only when a test says so.
        self.http.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))

    def request(self, method, path, headers=None, **kw):
        h = {"Authorization": self.token} if self.token else {}
        h.update(headers or {})
        kw.setdefault("timeout", 30)
        kw.setdefault("verify", False)  # a session's verify=False loses to REQUESTS_CA_BUNDLE
        return self.http.request(method, self.base + path, headers=h, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.request("PATCH", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # Shortcuts that assert success.
    def create(self, model, **attrs):
        r = self.post(f"/api/v2/{model}", json=attrs)
        assert r.status_code == 200, r.text
        return r.json()[model]["id"]

    def fetch(self, model, oid, **params):
        r = self.get(f"/api/v2/{model}/{oid}", params=params)
        assert r.status_code == 200, r.text
        return r.json()[model]

    def list(self, model, **params):
        r = self.get(f"/api/v2/{model}", params=params)
        assert r.status_code == 200, r.text
        return r.json()[model]

    def ids(self, model, **params):
        return [o["id"] for o in self.list(model, **params)]


class Server:
    """One `audex serve` process on a data directory; restartable on the same directory."""

    def __init__(self, data, plain=True, session_timeout=None, admin_password=ADMIN_PASSWORD,
                 args=()):
        self.data = pathlib.Path(data)
        self.args = list(args)  # further `audex serve` options
        self.data.mkdir(parents=True, exist_ok=True)
        self.plain = plain
        self.session_timeout = session_timeout
        self.admin_password = admin_password
        self.proc = None
        self.port = None
        self.log_path = self.data.parent / (self.data.name + ".log")

    @property
    def url(self):
        return f"{'http' if self.plain else 'https'}://127.0.0.1:{self.port}"

    def env(self):
        env = dict(os.environ, AUDEX_PASSWORD_COST="minimum")
        env.pop("AUDEX_ADMIN_PASSWORD", None)
        if self.admin_password is not None:
            env["AUDEX_ADMIN_PASSWORD"] = self.admin_password
        return env

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self):
        assert self.proc is None, "already running"
        self.port = free_port()
        cmd = [BINARY, "serve", "--data", str(self.data), "--listen", f"127.0.0.1:{self.port}",
               "--access-log", "off"]
        if self.plain:
            cmd.append("--plain")
        if self.session_timeout is not None:
            cmd += ["--session-timeout", str(self.session_timeout)]
        cmd += self.args
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, env=self.env(), stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"audex exited with {self.proc.returncode}:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"audex did not accept connections within 30 s:\n{self.log()}")

    def stop(self):
        """SIGTERM; the server must exit 0 within 10 s."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"audex did not stop within 10 s of SIGTERM:\n{self.log()[-4000:]}")
        assert rc == 0, f"audex exited with {rc} after SIGTERM:\n{self.log()[-4000:]}"

    def kill(self):
        """kill -9, as a crash or a power cut would."""
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            proc.wait()

    def restart(self):
        self.stop()
        return self.start()

    def anonymous(self):
        return Client(self.url)

    def login(self, user="admin", password=None):
        password = self.admin_password if password is None and user == "admin" else password
        r = requests.post(self.url + "/api/system/login", verify=False, timeout=30,
                          json={"username": user, "password": password or PASSWORD})
        assert r.status_code == 200, r.text
        return Client(self.url, r.json()["sessionid"])

    def add_user(self, admin, name, role, password=PASSWORD):
        """Creates a user over the API and returns a client logged in as it."""
        admin.create("user", name=name, role=role, password=password)
        return self.login(name, password)

    def cli(self, *args, stdin=None):
        """Runs `audex <args> --data <data dir>`."""
        return subprocess.run([BINARY, *args, "--data", str(self.data)], input=stdin,
                              capture_output=True, text=True, timeout=60, env=self.env())


@pytest.fixture
def server_factory(tmp_path):
    """Starts servers for one test: server_factory(plain=True, session_timeout=None, ...)."""
    started = []

    def make(name="data", start=True, **options):
        s = Server(tmp_path / name, **options)
        started.append(s)
        return s.start() if start else s

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def server(server_factory):
    """A fresh plain-HTTP server of its own for a test whose state matters."""
    return server_factory()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """One plain-HTTP server for a whole module of read-mostly tests."""
    s = Server(tmp_path_factory.mktemp("shared") / "data").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def admin(shared_server):
    """The superadmin `admin`, logged in to the module's server."""
    return shared_server.login()


def assert_error(response, status, error_type):
    """The response is the catalogue error: status plus {"result","error":{type,message,details}}."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["result"] == "error", body
    assert set(body["error"]) >= {"type", "message", "details"}, body
    assert body["error"]["type"] == error_type, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]
