"""schemathesis against /openapi.json, with valid tokens: no 5xx, and every answer as the
document says (status codes, bodies, content types, auth). Runs the ``schemathesis`` CLI
against the app served over HTTP, on the test database and simulator."""

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import LiveServer, fresh_code

CONFIG = Path(__file__).with_name("schemathesis.toml")
CLI = Path(sys.executable).with_name("schemathesis")


@pytest.fixture
def server(app):
    server = LiveServer(app)
    yield server
    server.stop()


def login(client):
    body = client.post("/wx/login", json={"code": fresh_code("fuzzer")}).get_json()
    client.post("/wx/notes", json={"title": "a note to find"}, headers={"Authentication": body["access_token"]})
    return body


def fuzz(url, token, *paths):
    """Run schemathesis on ``paths`` with ``token``; returns (exit code, its report)."""
    command = [
        CLI, "--config-file", CONFIG, "run", f"{url}/openapi.json",
        "--header", f"Authentication: {token}", "--checks", "all",
        "--max-examples", "25", "--seed", "1", "--no-color",
    ]
    for path in paths:
        command += ["--include-path", path]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    return result.returncode, result.stdout[-6000:]


def test_data_and_login_routes(app, server):
    token = login(app.test_client())["access_token"]
    paths = ["/wx/login", "/wx/findsome", "/wx/me", "/wx/notes", "/wx/notes/{note_id}", "/healthz"]
    code, report = fuzz(server.url, token, *paths)
    assert code == 0, report


def test_refresh_with_a_refresh_token(app, server):
    code, report = fuzz(server.url, login(app.test_client())["refresh_token"], "/wx/refresh")
    assert code == 0, report


def test_logout_with_an_access_token(app, server):
    code, report = fuzz(server.url, login(app.test_client())["access_token"], "/wx/logout")
    assert code == 0, report
