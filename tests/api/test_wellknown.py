"""The JWKS and the discovery document: what another service needs to verify a token
without wxlogin's secret."""

import jwt as pyjwt
import pytest

from wxlogin import create_app

from ..conftest import APPID, ES256, JWT_KEY, app_config, fresh_code


def login(client):
    return client.post("/wx/login", json={"code": fresh_code("alice")}).get_json()["access_token"]


@pytest.mark.skipif(not ES256, reason="ES256 only (TEST_JWT_ALGORITHM=ES256); HS256 publishes nothing")
def test_the_jwks_verifies_the_services_tokens(client):
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "public, max-age=300"
    token = login(client)
    kid = pyjwt.get_unverified_header(token)["kid"]
    (published,) = [k for k in response.get_json()["keys"] if k["kid"] == kid]
    assert "d" not in published
    key = pyjwt.PyJWK(published).key
    assert pyjwt.decode(token, key, algorithms=["ES256"], audience=APPID, issuer="wxlogin")["sub"]


def test_the_development_default_publishes_its_key(environ, tmp_path):
    environ.delenv("DATABASE_URL")
    environ.setenv("FLASK_DEBUG", "1")
    client = create_app(instance_path=str(tmp_path)).test_client()
    token = client.post("/wx/login", json={"code": "sim:alice"}).get_json()["access_token"]
    (published,) = client.get("/.well-known/jwks.json").get_json()["keys"]
    assert published["kid"] == pyjwt.get_unverified_header(token)["kid"]
    pyjwt.decode(token, pyjwt.PyJWK(published).key, algorithms=["ES256"], audience="wxsimulator0000000")


def test_hs256_publishes_no_key(database_url, simulator, tmp_path):
    config = app_config(database_url, simulator.url, JWT_SECRET_KEY=JWT_KEY)
    config.pop("JWT_PRIVATE_KEY", None)
    client = create_app(config, instance_path=str(tmp_path)).test_client()
    assert client.get("/.well-known/jwks.json").get_json() == {"keys": []}


def test_discovery_names_the_keys_and_the_introspection_endpoint(client):
    document = client.get("/.well-known/openid-configuration", base_url="https://api.example.com").get_json()
    assert document["issuer"] == "wxlogin"
    assert document["jwks_uri"] == "https://api.example.com/.well-known/jwks.json"
    assert document["introspection_endpoint"] == "https://api.example.com/oauth/introspect"
    assert document["introspection_endpoint_auth_methods_supported"] == ["client_secret_basic"]
    assert document["id_token_signing_alg_values_supported"] == ["ES256" if ES256 else "HS256"]


def test_public_url_wins_over_the_request(database_url, simulator, tmp_path):
    app = create_app(app_config(database_url, simulator.url, PUBLIC_URL="https://login.example.com"),
                     instance_path=str(tmp_path))
    response = app.test_client().get("/.well-known/openid-configuration", headers={"Host": "evil.example"})
    assert response.get_json()["jwks_uri"] == "https://login.example.com/.well-known/jwks.json"
    assert response.headers["Cache-Control"] == "public, max-age=300"


def test_urls_made_from_the_host_header_are_not_cached(client):
    response = client.get("/.well-known/openid-configuration", headers={"Host": "evil.example"})
    assert response.get_json()["jwks_uri"] == "http://evil.example/.well-known/jwks.json"
    assert response.headers["Cache-Control"] == "no-store"  # no shared cache keeps it for others
