"""`audex import asciicast`: a real recording of an interactive bash (asciinema inside tmux),
imported into a running server over HTTP and into its data directory in-process; its commands
listed by /events as typed after correction, and the text `less` showed found by content search.
The server's certificate is verified, the token never is on the command line, and an import runs
once: a second run finds the session, and one that stopped part way is replaced."""
import datetime
import hashlib
import json
import os
import pty
import re
import subprocess
import time

import pytest

from conftest import BINARY, Client

PROMPT = "audex$ "
COMMANDS = ["echo hello world", "less notes.txt", "pwd", "exit"]
# A word that only `less` shows: the commands never name it.
LESS_WORD = "quetzalcoatl"


class Pane:
    """A tmux server of the test's own, whose one pane runs a command."""

    def __init__(self, directory, command):
        self.socket = str(directory / "tmux.sock")
        self.tmux("-f", "/dev/null", "new-session", "-d", "-x", "100", "-y", "30", command)

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True, text=True,
                              timeout=10)

    def screen(self):
        return self.tmux("capture-pane", "-p").stdout

    def wait_for(self, test, what, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if test(screen):
                return screen
            time.sleep(0.02)
        raise AssertionError(f"the pane never showed {what}:\n{self.screen()}")

    def keys(self, *keys):
        self.tmux("send-keys", *keys)

    def alive(self):
        return self.tmux("has-session").returncode == 0

    def kill(self):
        self.tmux("kill-server")


def prompts(screen):
    return sum(line.startswith(PROMPT.strip()) for line in screen.splitlines())


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A recording with input events (`asciinema rec --stdin`) of bash typing COMMANDS, with a
    typo corrected by backspace, and `less` open on a file for over a second."""
    d = tmp_path_factory.mktemp("recording")
    (d / "notes.txt").write_text("".join(f"note {i}: the {LESS_WORD} entry {i}\n"
                                         for i in range(1, 80)))
    cast = d / "session.cast"
    shell = f"env PS1='{PROMPT}' bash --norc --noprofile -i"
    command = (f"cd {d} && env -i HOME={d} PATH=/usr/bin:/bin TERM=screen LANG=C.UTF-8 "
               f"asciinema rec --stdin --quiet -c \"{shell}\" {cast}")
    pane = Pane(d, command)
    try:
        def prompt_count(n):
            screen = pane.wait_for(lambda s: prompts(s) >= n, f"{n} prompts")
            time.sleep(0.1)  # the shell waits: the typing comes after a pause
            return screen

        prompt_count(1)
        pane.keys("echo helo")
        pane.wait_for(lambda s: "echo helo" in s, "the typo")
        pane.keys("BSpace", "BSpace")
        pane.wait_for(lambda s: re.search(r"echo he\s*$", s, re.M), "the correction")
        pane.keys("llo world", "Enter")
        pane.wait_for(lambda s: re.search(r"^hello world$", s, re.M), "echo's output")
        prompt_count(2)
        pane.keys("less notes.txt", "Enter")
        pane.wait_for(lambda s: LESS_WORD in s, "less")
        time.sleep(1.3)  # screen text is kept when it stays a second
        pane.keys("q")
        prompt_count(3)
        pane.keys("pwd", "Enter")
        prompt_count(4)
        pane.keys("exit", "Enter")
        deadline = time.monotonic() + 10
        while pane.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not pane.alive(), "asciinema did not end with the shell"
    finally:
        pane.kill()
    text = cast.read_text()
    assert '"i"' in text and LESS_WORD in text
    return cast


@pytest.fixture(scope="module")
def output_only(recording):
    """The same session as `asciinema rec` writes it without --stdin: output events only."""
    path = recording.with_name("output-only.cast")
    lines = recording.read_text().splitlines()
    kept = [lines[0]] + [line for line in lines[1:] if json.loads(line)[1] != "i"]
    path.write_text("\n".join(kept) + "\n")
    return path


def run_import(*args, token=None, **kw):
    """Runs the importer; `token` goes in AUDEX_TOKEN."""
    env = dict(os.environ)
    env.pop("AUDEX_TOKEN", None)
    if token is not None:
        env["AUDEX_TOKEN"] = token
    return subprocess.run([BINARY, "import", "asciicast", *map(str, args)], capture_output=True,
                          text=True, timeout=60, env=env, **kw)


def imported_id(r):
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.fullmatch(r"\d+\n", r.stdout), r.stdout
    return r.stdout.strip()


def events(client, sid):
    r = client.get(f"/api/audit/sessions/{sid}/events")
    assert r.status_code == 200, r.text
    return [(e["psm.events.type"], e["psm.events.content"]) for e in r.json()["items"]]


def content_hits(client, sid, q):
    r = client.get(f"/api/audit/sessions/{sid}/content", params={"q": q, "limit": 10000})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def assert_imported(admin, sid, cast):
    header = json.loads(cast.read_text().splitlines()[0])
    last = json.loads(cast.read_text().splitlines()[-1])[0]
    assert events(admin, sid) == [("adp.event.command", c) for c in COMMANDS]
    hits = content_hits(admin, sid, LESS_WORD)
    assert hits, "the text less showed was not found"
    # less stayed open for over a second: its screen's record spans that.
    assert any(h["end_time"] > h["start_time"] for h in hits), hits
    assert content_hits(admin, sid, "nonexistentwordxyz") == []
    session = admin.fetch("session", sid, fields="*")
    assert session["protocol"] == "ssh"
    assert session["user_name"] == "alice" and session["server_name"] == "web-01"
    assert session["width"] == str(header["width"]) and session["height"] == str(header["height"])
    assert session["indexed"] == 2
    assert session["duration"] == int(last)
    started = datetime.datetime.fromtimestamp(header["timestamp"], datetime.timezone.utc)
    assert session["started_at"] == started.strftime("%Y-%m-%d %H:%M:%S+00")


def test_import_over_http(server, recording, output_only):
    admin = server.login()
    sid = imported_id(run_import(recording, "--url", server.url, "--user", "alice", "--server",
                                 "web-01", token=admin.token))
    assert_imported(admin, sid, recording)
    # Another recording finds the user and server instead of creating them again.
    other = imported_id(run_import(output_only, "--url", server.url, "--user", "ALICE",
                                   "--server", "web-01", "--protocol", "telnet",
                                   token=admin.token))
    assert other != sid
    first, second = admin.fetch("session", sid), admin.fetch("session", other)
    assert (first["user_id"], first["server_id"]) == (second["user_id"], second["server_id"])
    assert second["protocol"] == "telnet"
    assert len(admin.ids("user", filter="name:alice")) == 1


def test_a_recording_imported_again_is_the_same_session(server, recording):
    admin = server.login()
    sid = imported_id(run_import(recording, "--url", server.url, "--user", "alice", "--server",
                                 "web-01", token=admin.token))
    digest = hashlib.sha256(recording.read_bytes()).hexdigest()
    assert admin.fetch("session", sid, fields="recording_sha256")["recording_sha256"] == digest
    again = run_import(recording, "--url", server.url, "--user", "alice", "--server", "web-01",
                       token=admin.token)
    assert imported_id(again) == sid
    assert f"imported before as session {sid}; nothing changed" in again.stderr
    # In-process too, and whatever the other options say.
    local = run_import(recording, "--data", server.data, "--user", "bob", "--server", "db-01")
    assert imported_id(local) == sid
    assert admin.ids("session") == [sid]
    assert admin.ids("user", filter="name:bob") == []
    assert len(events(admin, sid)) == len(COMMANDS)


def test_import_into_the_data_directory_of_a_running_server(server, output_only):
    admin = server.login()
    r = server.cli("import", "asciicast", str(output_only), "--user", "alice", "--server",
                   "web-01")
    sid = imported_id(r)
    assert_imported(admin, sid, output_only)


def test_a_file_that_is_not_asciicast_v2_creates_nothing(server, tmp_path):
    admin = server.login()
    v1 = tmp_path / "v1.cast"
    v1.write_text('{"version": 1, "width": 80, "height": 24, "stdout": [[0.1, "ls\\r\\n"]]}\n')
    text = tmp_path / "notes.txt"
    text.write_text("just some text\n")
    for path, message in [(v1, "v1.cast:1: not an asciicast v2 header"),
                          (text, "notes.txt:1: not JSON")]:
        for target in [["--url", server.url], ["--data", server.data]]:
            r = run_import(path, *target, "--user", "mallory", "--server", "nowhere",
                           token=admin.token)
            assert r.returncode != 0
            assert message in r.stdout + r.stderr
            assert not re.search(r"^\d+$", r.stdout, re.M), r.stdout
    assert admin.ids("session") == []
    assert admin.ids("user", filter="name:mallory") == []
    assert admin.ids("server") == []


def test_a_progress_bar_on_a_terminal(server, recording):
    admin = server.login()
    main, secondary = pty.openpty()
    proc = subprocess.Popen([BINARY, "import", "asciicast", str(recording), "--url", server.url,
                             "--user", "alice", "--server", "web-01"],
                            env=dict(os.environ, AUDEX_TOKEN=admin.token), stdout=secondary,
                            stderr=secondary)
    os.close(secondary)
    out = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(timeout=60) == 0
    os.close(main)
    text = out.decode()
    assert "100% storing" in text and "[#" in text, text
    # The bar is cleared before the id, the last line.
    last = re.search(r"\r\x1b\[K(\d+)\r\n$", text)
    assert last, text
    sid = last.group(1)
    assert events(admin, sid)[0] == ("adp.event.command", COMMANDS[0])


def test_data_must_be_an_existing_store(tmp_path, output_only):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run_import(output_only, "--data", empty, "--user", "alice", "--server", "web-01")
    assert r.returncode != 0
    assert "no Audex data in" in r.stdout + r.stderr
    # Left for `audex serve` to create, with its superadmin.
    assert list(empty.iterdir()) == []


def test_an_https_server_whose_certificate_is_not_trusted_gets_nothing(server_factory,
                                                                       recording):
    server = server_factory(plain=False)
    admin = server.login()
    assert server.url.startswith("https://")
    r = run_import(recording, "--url", server.url, "--user", "alice", "--server", "web-01",
                   token=admin.token)
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert f"the certificate of 127.0.0.1:{server.port} is not trusted" in out, out
    assert "--cacert FILE" in out and "--insecure" in out, out
    assert not re.search(r"^\d+$", r.stdout, re.M), r.stdout
    assert admin.ids("session") == []
    assert admin.ids("user", filter="name:alice") == []
    assert admin.ids("server") == []


def test_import_over_https_verified_with_cacert_and_a_token_file(server_factory, recording,
                                                                 tmp_path):
    server = server_factory(plain=False)
    admin = server.login()
    token_file = tmp_path / "token"
    token_file.write_text(admin.token + "\n")
    sid = imported_id(run_import(recording, "--url", server.url, "--token-file", token_file,
                                 "--cacert", server.data / "tls" / "certificate.pem",
                                 "--user", "alice", "--server", "web-01"))
    assert events(admin, sid) == [("adp.event.command", c) for c in COMMANDS]
    # The file wins over the environment.
    again = run_import(recording, "--url", server.url, "--token-file", token_file, "--cacert",
                       server.data / "tls" / "certificate.pem", "--user", "alice", "--server",
                       "web-01", token="not-a-token")
    assert imported_id(again) == sid


def test_import_over_https_with_insecure_warns(server_factory, recording):
    server = server_factory(plain=False)
    admin = server.login()
    r = run_import(recording, "--url", server.url, "--insecure", "--user", "alice", "--server",
                   "web-01", token=admin.token)
    sid = imported_id(r)
    assert "warning: --insecure: the certificate of" in r.stderr, r.stderr
    assert events(admin, sid) == [("adp.event.command", c) for c in COMMANDS]
    both = run_import(recording, "--url", server.url, "--insecure", "--cacert",
                      server.data / "tls" / "certificate.pem", "--user", "alice", "--server",
                      "web-01", token=admin.token)
    assert both.returncode != 0 and "excludes" in both.stdout + both.stderr


def test_the_token_is_never_an_argument(server, recording, tmp_path):
    admin = server.login()
    r = run_import(recording, "--url", server.url, "--token", admin.token, "--user", "alice",
                   "--server", "web-01")
    assert r.returncode != 0
    assert "--token" in r.stdout + r.stderr
    r = run_import(recording, "--url", server.url, "--user", "alice", "--server", "web-01")
    assert r.returncode != 0
    assert "--url needs a token: --token-file FILE or AUDEX_TOKEN" in r.stdout + r.stderr
    empty = tmp_path / "empty-token"
    empty.write_text("\n")
    r = run_import(recording, "--url", server.url, "--token-file", empty, "--user", "alice",
                   "--server", "web-01", token=admin.token)
    assert r.returncode != 0
    assert f"--token-file {empty} holds no token" in r.stdout + r.stderr
    assert admin.ids("session") == []


def test_an_unreachable_server_is_a_clear_error(recording):
    r = run_import(recording, "--url", "http://127.0.0.1:1", "--user", "alice", "--server",
                   "web-01", token="x")
    assert r.returncode != 0
    assert "no answer from 127.0.0.1:1: Connection refused" in r.stdout + r.stderr


SMALL_FRAMES, LARGE_FRAMES = 1000, 300


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    """A recording of SMALL_FRAMES one-line screens, then LARGE_FRAMES screens of 40 long lines,
    each shown for two seconds: one screen record each, and the importer's second request of
    1,000 records is over 1 MiB."""
    path = tmp_path_factory.mktemp("frames") / "frames.cast"
    lines = [json.dumps({"version": 2, "width": 160, "height": 48, "timestamp": 1700000000})]
    clear = "\x1b[2J\x1b[H"
    for i in range(SMALL_FRAMES + LARGE_FRAMES):
        if i < SMALL_FRAMES:
            text = f"framemark small {i}"
        else:
            text = "\r\n".join(f"framemark large {i} line {n} " + "x" * 120 for n in range(40))
        lines.append(json.dumps([2.0 * i, "o", clear + text]))
    lines.append(json.dumps([2.0 * (SMALL_FRAMES + LARGE_FRAMES), "o", clear]))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_import_stopped_part_way_is_replaced_whole_by_the_next_run(server_factory, frames):
    # The server refuses the second content request (over its 1 MiB budget for bodies): the
    # first 1,000 records are in, the rest not.
    server = server_factory(args=["--body-budget-mib", "1"])
    admin = server.login()
    r = run_import(frames, "--url", server.url, "--user", "alice", "--server", "web-01",
                   token=admin.token)
    assert r.returncode != 0, r.stdout
    assert "the server holds too many request bodies" in r.stdout + r.stderr, r.stdout
    [partial] = admin.list("session", fields="id,indexed")
    # Not marked indexed: it never looks complete.
    assert partial["indexed"] == 0
    stored = content_hits(admin, partial["id"], "framemark")
    assert 0 < len(stored) < SMALL_FRAMES + LARGE_FRAMES

    server.args = []
    server.restart()
    admin = server.login()
    r = run_import(frames, "--url", server.url, "--user", "alice", "--server", "web-01",
                   token=admin.token)
    sid = imported_id(r)
    assert sid != partial["id"]
    assert f"session {partial['id']} held an import of it that had stopped part way" in r.stderr
    assert admin.ids("session") == [sid]
    assert admin.ids("session", filter="removed:true") == [partial["id"]]
    assert admin.fetch("session", sid, fields="indexed")["indexed"] == 2
    hits = content_hits(admin, sid, "framemark")
    assert len(hits) == SMALL_FRAMES + LARGE_FRAMES
    assert len({h["record_id"]["begin"] for h in hits}) == len(hits)

    # Once whole, another run changes nothing.
    r = run_import(frames, "--url", server.url, "--user", "alice", "--server", "web-01",
                   token=admin.token)
    assert imported_id(r) == sid
    assert admin.ids("session") == [sid]
    assert len(content_hits(admin, sid, "framemark")) == SMALL_FRAMES + LARGE_FRAMES
