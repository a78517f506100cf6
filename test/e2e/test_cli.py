"""The `audex user` command line (API.md section 6), run on the data directory of a live server."""
import re

from conftest import Client, assert_error


def test_user_add_creates_a_user_that_can_log_in(server):
    r = server.cli("user", "add", "cli-operator", "--role", "operator", "--password-stdin",
                   stdin="cli-password-1\n")
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"\d+\n", r.stdout), r.stdout
    c = server.login("cli-operator", "cli-password-1")
    assert c.get("/api/v2/session").status_code == 200
    assert_error(c.post("/api/v2/server", json={"name": "x"}), 403, "Forbidden")
    user = server.login().fetch("user", r.stdout.strip())
    assert user["name"] == "cli-operator" and user["role"] == "operator"
    assert "password" not in user


def test_user_apikey_prints_a_working_key(server):
    r = server.cli("user", "add", "cli-service", "--role", "service", "--password-stdin",
                   stdin="cli-password-2\n")
    assert r.returncode == 0, r.stderr
    r = server.cli("user", "apikey", "cli-service")
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{40}", key), r.stdout
    c = Client(server.url, key)
    r = c.post("/api/v2/session", json={"protocol": "ssh", "started_at": "2022-04-05 16:06:07+02"})
    assert r.status_code == 200, r.text


def test_user_add_rejects_a_duplicate_name(server):
    r = server.cli("user", "add", "ADMIN", "--role", "operator", "--password-stdin",
                   stdin="cli-password-3\n")
    assert r.returncode != 0


def test_user_add_rejects_an_unknown_role(server):
    r = server.cli("user", "add", "cli-x", "--role", "janitor", "--password-stdin",
                   stdin="cli-password-4\n")
    assert r.returncode != 0


def test_user_apikey_of_an_unknown_user_fails(server):
    r = server.cli("user", "apikey", "nobody-here")
    assert r.returncode != 0
