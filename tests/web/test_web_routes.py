"""The web blueprint's two files, without a browser: the module is served in every mode,
the demo page only in development and tests."""

import pytest

from ..processes import ENCRYPTION_KEY


def test_module_is_served_as_javascript(client):
    response = client.get("/web/qr-login.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Access-Control-Allow-Origin"] == "*"  # importable from any origin
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "export class QrLogin extends EventTarget" in response.get_data(as_text=True)
    again = client.get("/web/qr-login.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_module_keeps_its_wildcard_under_cors_origins(make_app):
    client = make_app(CORS_ORIGINS=["https://admin.example.com"]).test_client()
    response = client.get("/web/qr-login.js", headers={"Origin": "https://other.example.com"})
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"


def test_demo_page_in_tests(client):
    response = client.get("/_demo/qr-login")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    page = response.get_data(as_text=True)
    assert 'import { QrLogin } from "/web/qr-login.js";' in page and 'id="qr-image"' in page


@pytest.mark.parametrize("debug", [False, True], ids=["production", "development"])
def test_demo_page_only_in_development(make_app, debug):
    # Production with ES256 (TEST_JWT_ALGORITHM) also needs its own session-key keys.
    client = make_app(TESTING=False, DEBUG=debug, SESSION_KEY_ENCRYPTION_KEYS=[ENCRYPTION_KEY]).test_client()
    assert client.get("/web/qr-login.js").status_code == 200  # the module in every mode
    response = client.get("/_demo/qr-login")
    if debug:
        assert response.status_code == 200
    else:
        assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_web_routes_are_not_api_operations(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert not [path for path in paths if path.startswith(("/web/", "/_demo/"))]
