"""GET /healthz: 200 when the database answers, 503 when it does not."""

from wxlogin import create_app

from .conftest import app_config


def test_healthy(client):
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_database_down_is_503(simulator, tmp_path):
    # A port where no database listens.
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
    app = create_app(app_config(url, simulator.url), instance_path=str(tmp_path))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["error"] == "database_unavailable"
