"""GET /healthz (the database answers) and GET /readyz (so does Redis, when configured)."""

import pytest

from wxlogin import create_app

from ..conftest import REDIS_URL, app_config, free_port

NO_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"


def test_healthy(client):
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("route", ["/healthz", "/readyz"])
def test_database_down_is_503(simulator, tmp_path, route):
    app = create_app(app_config(NO_DATABASE, simulator.url), instance_path=str(tmp_path))
    response = app.test_client().get(route)
    assert response.status_code == 503
    assert response.get_json()["error"] == "database_unavailable"


def test_ready(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    expected_redis = "ok" if REDIS_URL else "not configured"
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": expected_redis}


def test_redis_down_is_not_ready(database_url, simulator, tmp_path):
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(app_config(database_url, simulator.url, REDIS_URL=dead_redis), instance_path=str(tmp_path))
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["error"] == "redis_unavailable"
    assert client.get("/healthz").status_code == 200  # alive: only readiness depends on Redis
