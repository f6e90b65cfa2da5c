"""schemathesis against /openapi.json, with valid tokens: no 5xx, and every answer as the
document says (status codes, bodies, content types, auth). Runs the ``schemathesis`` CLI
against the app served over HTTP, on the test database and simulator."""

import subprocess
import sys
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from ..conftest import LiveServer, fresh_code

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


@pytest.mark.parametrize("path, token_kind", [("/wx/refresh", "refresh_token"), ("/wx/logout", "access_token")])
def test_token_spending_routes_with_a_fresh_token_each_time(app, server, path, token_kind):
    """These revoke the token they get, so each generated request gets a new login."""
    operation = schemathesis.openapi.from_url(f"{server.url}/openapi.json")[path]["POST"]
    client = app.test_client()

    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case):
        case.headers = {**(case.headers or {}), "Authentication": login(client)[token_kind]}
        # ignored_auth replays with the generated Bearer header spoiled, but our valid
        # Authentication header still stands; the main run above checks auth properly.
        case.call_and_validate(base_url=server.url, excluded_checks=[schemathesis.checks.ignored_auth])

    check()
