"""Each distinct token is verified once per process; a remembered token still expires."""

import time
from datetime import timedelta

import jwt as pyjwt

from wxlogin import create_app
from wxlogin.security import keys

from ..conftest import ES256, app_config, fresh_code


def test_a_remembered_token_is_refused_once_it_expires(database_url, simulator, tmp_path):
    app = create_app(
        app_config(database_url, simulator.url, JWT_ACCESS_TOKEN_EXPIRES=timedelta(seconds=2),
                   JWT_DECODE_LEEWAY=0),
        instance_path=str(tmp_path),
    )
    client = app.test_client()
    token = client.post("/wx/login", json={"code": fresh_code("tom")}).get_json()["access_token"]
    headers = {"Authentication": token}
    assert client.get("/wx/me", headers=headers).status_code == 200
    assert token in app.extensions["verified_tokens"].entries  # remembered...
    exp = pyjwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, exp - time.time()) + 0.1)  # past its exp (whole seconds): expired
    response = client.get("/wx/me", headers=headers)  # ...and still refused when expired
    assert (response.status_code, response.get_json()["error"]) == (401, "token_expired")


def test_a_token_that_failed_is_not_remembered(app, client, login):
    token = login()["access_token"]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for _ in range(2):
        assert client.get("/wx/me", headers={"Authentication": tampered}).get_json()["error"] == "token_invalid"
    assert tampered not in app.extensions["verified_tokens"].entries


def test_apps_in_one_process_keep_their_own_verified_tokens(app, database_url, simulator, tmp_path, client, login):
    token = login()["access_token"]
    assert client.get("/wx/me", headers={"Authentication": token}).status_code == 200
    # Another key of the run's algorithm: in this process, the same token must fail there.
    another = {"JWT_PRIVATE_KEY": keys.generate()[0]} if ES256 else {"JWT_SECRET_KEY": "another-key-" + "o" * 40}
    other = create_app(app_config(database_url, simulator.url, **another), instance_path=str(tmp_path))
    response = other.test_client().get("/wx/me", headers={"Authentication": token})
    assert response.get_json()["error"] == "token_invalid"
