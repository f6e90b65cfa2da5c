"""CORS_ORIGINS: the product's web pages on other origins may call the API from a browser
(the preflight answered 204, the headers on every answer, errors included); other origins
get no CORS header, and without the setting no answer carries one."""

import pytest

from wxlogin.config import ConfigError, from_environ

ORIGIN = "https://admin.example.com"
PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
             "Access-Control-Request-Headers": "authentication, accept-language"}


@pytest.fixture
def cors_client(make_app):
    return make_app(CORS_ORIGINS=[ORIGIN]).test_client()


def test_a_preflight_from_an_allowed_origin_is_204(cors_client):
    response = cors_client.options("/wx/me", headers=PREFLIGHT)
    assert response.status_code == 204 and "Content-Type" not in response.headers
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authentication", "accept-language"} <= allowed
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response.headers  # tokens, never cookies


def test_a_preflight_for_a_method_the_route_lacks_is_still_405(cors_client):
    response = cors_client.options("/wx/me", headers={**PREFLIGHT, "Access-Control-Request-Method": "PUT"})
    assert (response.status_code, response.get_json()["error"]) == (405, "method_not_allowed")


def test_answers_and_errors_carry_the_header_for_the_allowed_origin(cors_client):
    created = cors_client.post("/wx/qr-login", headers={"Origin": ORIGIN})
    assert created.headers["Access-Control-Allow-Origin"] == ORIGIN
    refused = cors_client.get("/wx/me", headers={"Origin": ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == ORIGIN  # the page can read why
    assert "Retry-After" in refused.headers["Access-Control-Expose-Headers"]


def test_another_origin_gets_no_header(cors_client):
    response = cors_client.options("/wx/me", headers={**PREFLIGHT, "Origin": "https://evil.example"})
    assert response.status_code == 405  # no preflight answered for it
    assert "Access-Control-Allow-Origin" not in response.headers
    assert cors_client.options("/wx/me", headers={k: v for k, v in PREFLIGHT.items() if k != "Origin"}).status_code == 405
    assert "Access-Control-Allow-Origin" not in cors_client.get("/healthz", headers={"Origin": "https://evil.example"}).headers


def test_without_the_setting_there_is_no_cors(client):
    response = client.options("/wx/me", headers=PREFLIGHT)
    assert response.status_code == 405
    assert "Access-Control-Allow-Origin" not in client.get("/healthz", headers={"Origin": ORIGIN}).headers


@pytest.mark.parametrize("origin", ["*", "https://*.example.com", "https://admin.example.com/", "admin.example.com"])
def test_only_exact_origins_are_taken(origin):
    """Flask-Cors reads an entry with regex characters as a pattern (``*`` is every origin)."""
    with pytest.raises(ConfigError, match="CORS_ORIGINS"):
        from_environ({"CORS_ORIGINS": origin})
