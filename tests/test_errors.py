"""Flask's own errors, and unexpected ones, answer API.md's JSON shape."""

import logging

import requests
from flask import abort

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


def test_another_http_error_keeps_its_own_words(app):
    """A status outside our catalog (a library's abort) is answered in our shape with its
    own description, taken as it is: braces in it are text, not a template."""
    @app.get("/conflict")
    def conflict():
        abort(409, description="key {x} is taken")

    response = app.test_client().get("/conflict")
    assert (response.status_code, response.get_json()) == (409, {"error": "conflict", "message": "key {x} is taken"})


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


def test_options_is_json_too(client):
    response = client.options("/wx/login")
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"


def test_a_chunked_body_over_64_kib_is_413(app):
    """No Content-Length: werkzeug cuts the stream at the limit, and we say so."""
    from .conftest import LiveServer

    server = LiveServer(app)
    try:
        body = b'{"code": "sim:x"}' + b" " * 70000
        response = requests.post(
            f"{server.url}/wx/login", data=iter([body]), timeout=10,
            headers={"Content-Type": "application/json"},
        )
    finally:
        server.stop()
    assert (response.status_code, response.json()["error"]) == (413, "payload_too_large")


def test_a_client_request_id_is_echoed_only_when_plain(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("x")

    client = app.test_client()
    assert client.get("/boom", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    odd = client.get("/boom", headers={"X-Request-ID": "a b\u0085<script>"})
    assert odd.headers["X-Request-ID"] != "a b\u0085<script>" and "script" not in odd.get_json()["message"]
