"""A database that refuses, or accepts and never answers (frozen, partitioned): every route
that needs it answers 503 ``database_unavailable`` with Retry-After within DATABASE_TIMEOUT
plus a second, and the same app answers normally once the database does."""

import socket
import threading
import time

import pytest

from wxlogin import create_app

from ..conftest import REDIS_URL, app_config, free_port, fresh_code

TIMEOUT = 2  # DATABASE_TIMEOUT here (libpq's connect timeout has whole seconds, at least 2)


class SilentServer:
    """Accepts TCP connections and never answers: what a frozen database looks like."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.accepted.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        self.sock.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def silent():
    server = SilentServer()
    yield server
    server.close()


def unreachable_app(url, tmp_path, simulator):
    config = app_config(url, simulator.url, DATABASE_TIMEOUT=TIMEOUT, REDIS_URL=None)
    return create_app(config, instance_path=str(tmp_path))


DRIVERS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:{port}/test",
    "mysql": "mysql+pymysql://root@127.0.0.1:{port}/test",
}


def assert_unavailable(response, started):
    elapsed = time.monotonic() - started
    assert (response.status_code, response.get_json()["error"]) == (503, "database_unavailable")
    assert response.headers["Retry-After"].isdigit()
    assert elapsed < TIMEOUT + 1, f"answered after {elapsed:.1f}s"


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("route", ["/healthz", "/readyz", "login"])
def test_a_database_that_never_answers_is_503_in_time(silent, tmp_path, simulator, driver, route):
    app = unreachable_app(DRIVERS[driver].format(port=silent.port), tmp_path, simulator)
    started = time.monotonic()
    if route == "login":
        response = app.test_client().post("/wx/login", json={"code": fresh_code("frozen")})
    else:
        response = app.test_client().get(route)
    assert_unavailable(response, started)


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_refused_connection_is_503(tmp_path, simulator, driver):
    app = unreachable_app(DRIVERS[driver].format(port=free_port()), tmp_path, simulator)
    started = time.monotonic()
    assert_unavailable(app.test_client().post("/wx/login", json={"code": fresh_code("refused")}), started)


def test_protected_routes_are_503_not_500(app, login, silent, tmp_path, simulator):
    """A valid token, but its revocation check cannot reach the database."""
    token = login("nora")["access_token"]
    frozen = unreachable_app(DRIVERS["postgresql"].format(port=silent.port), tmp_path, simulator)
    for method, path in [("GET", "/wx/me"), ("POST", "/wx/notes"), ("POST", "/wx/logout")]:
        started = time.monotonic()
        body = {"title": "t"} if path == "/wx/notes" else None
        response = frozen.test_client().open(path, method=method, json=body, headers={"Authentication": token})
        assert_unavailable(response, started)


def test_each_request_gets_its_own_budget(app, login, database_url, simulator, tmp_path):
    """A budget spent by one request does not shorten the next (nor code outside requests)."""
    headers = {"Authentication": login("olga")["access_token"]}
    app = create_app(app_config(database_url, simulator.url, DATABASE_TIMEOUT=0.5), instance_path=str(tmp_path))
    client = app.test_client()
    for _ in range(3):
        assert client.get("/wx/me", headers=headers).status_code == 200
        time.sleep(0.3)
    with app.app_context():  # outside a request: no budget at all
        from wxlogin.database.deadline import remaining

        assert remaining() is None


@pytest.mark.skipif(not REDIS_URL, reason="needs TEST_REDIS_URL")
def test_with_redis_a_frozen_database_is_still_503(login, silent, tmp_path, simulator):
    token = login("pia")["access_token"]
    config = app_config(DRIVERS["postgresql"].format(port=silent.port), simulator.url, DATABASE_TIMEOUT=TIMEOUT)
    frozen = create_app(config, instance_path=str(tmp_path))
    started = time.monotonic()
    assert_unavailable(frozen.test_client().get("/wx/me", headers={"Authentication": token}), started)
