"""Flask's own errors, and unexpected ones, answer API.md's JSON shape."""

import logging

from .conftest import fresh_code


def test_unknown_route_is_json_404(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_wrong_method_is_json_405_with_allow(client):
    response = client.get("/wx/login")
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


def test_a_body_over_64_kib_is_413(client):
    response = client.post("/wx/login", json={"code": fresh_code("a"), "pad": "x" * 70000})
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"


def test_a_body_just_under_the_limit_is_read(client):
    response = client.post("/wx/login", json={"code": fresh_code("a"), "pad": "x" * 60000})
    assert response.status_code == 200


def test_unexpected_errors_are_500_without_details(app, caplog):
    @app.get("/boom")
    def boom():
        raise RuntimeError("internal detail: password=hunter2")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"] == "internal_error"
    assert "hunter2" not in response.get_data(as_text=True)
    request_id = response.headers["X-Request-ID"]
    assert request_id in body["message"]
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert request_id in record.getMessage() and record.exc_info
