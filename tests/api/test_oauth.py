"""POST /oauth/introspect (RFC 7662): active for a token the data routes accept now,
``{"active": false}`` for every token they would refuse, and only for known services."""

import base64
import time

import jwt as pyjwt
import pytest

from wxlogin import create_app
from wxlogin.extensions import db
from wxlogin.models import User
from wxlogin.security.ratelimit import REFUSED_CLIENT_LIMIT

from ..conftest import APPID, INTROSPECTION_CLIENTS, app_config
from ..processes import sign_as_service


def basic(client_id="orders", secret=None):
    secret = INTROSPECTION_CLIENTS.get(client_id, "whatever") if secret is None else secret
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def introspect(client, token, headers=None):
    response = client.post("/oauth/introspect", data={"token": token}, headers=headers or basic())
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_an_access_token_in_use_is_active(client, login):
    tokens = login()
    answer = introspect(client, tokens["access_token"])
    claims = pyjwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert answer == {"active": True, "token_type": "access_token",
                      **{k: claims[k] for k in ("sub", "exp", "iat", "iss", "aud", "jti", "sid")}}
    assert answer["sub"] == str(tokens["user"]["id"]) and answer["aud"] == APPID


def test_a_refresh_token_is_active_until_spent_and_asking_changes_nothing(client, login):
    tokens = login()
    assert introspect(client, tokens["refresh_token"])["token_type"] == "refresh_token"
    assert client.post("/wx/refresh", headers={"Authentication": tokens["refresh_token"]}).status_code == 200
    assert introspect(client, tokens["refresh_token"]) == {"active": False}
    # Presenting it again to /wx/refresh would end the session; introspecting it does not.
    assert client.get("/wx/me", headers={"Authentication": tokens["access_token"]}).status_code == 200


def test_a_logged_out_token_is_inactive(client, login):
    token = login()["access_token"]
    client.post("/wx/logout", headers={"Authentication": token})
    assert introspect(client, token) == {"active": False}


def test_logging_out_everywhere_ends_every_token(client, login):
    first, second = login()["access_token"], login()["access_token"]
    client.post("/wx/logout?all=true", headers={"Authentication": second})
    assert introspect(client, first) == introspect(client, second) == {"active": False}


def test_a_disabled_users_token_is_inactive(client, login, runner):
    tokens = login()
    assert runner.invoke(args=["users", "disable", str(tokens["user"]["id"])]).exit_code == 0
    assert introspect(client, tokens["access_token"]) == {"active": False}


def test_a_deleted_users_token_is_inactive(app, client, login):
    tokens = login()
    with app.app_context():
        db.session.delete(db.session.get(User, tokens["user"]["id"]))
        db.session.commit()
    assert introspect(client, tokens["access_token"]) == {"active": False}


@pytest.mark.parametrize("make", [
    lambda c: sign_as_service({**c, "exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}),
    lambda c: pyjwt.encode(c, "another-key-" + "x" * 40, "HS256"),
    lambda c: "not.a.token",
    lambda c: "x" * 4000,
])
def test_expired_forged_and_malformed_tokens_are_inactive(client, login, make):
    claims = pyjwt.decode(login()["access_token"], options={"verify_signature": False})
    assert introspect(client, make(claims)) == {"active": False}


@pytest.mark.parametrize("headers", [
    {}, basic("orders", "wrong"), basic("nobody"), {"Authorization": "Bearer orders-service-secret"},
    basic("orders", ""),
])
def test_only_known_services_may_ask(client, login, headers):
    response = client.post("/oauth/introspect", data={"token": login()["access_token"]}, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_a_missing_token_is_a_field_error(client):
    response = client.post("/oauth/introspect", data={}, headers=basic())
    assert (response.status_code, response.get_json()["error"]) == (422, "invalid_request")


def test_each_service_has_its_own_allowance(database_url, simulator, tmp_path, login):
    client = create_app(app_config(database_url, simulator.url, INTROSPECTION_RATE_LIMIT="2/minute"),
                        instance_path=str(tmp_path)).test_client()
    token = login()["access_token"]
    # Wrong credentials naming "payments" spend nothing of its allowance: refused uncounted.
    for _ in range(3):
        assert client.post("/oauth/introspect", data={"token": token}, headers=basic("payments", "no")).status_code == 401
    for _ in range(2):
        introspect(client, token)
    limited = client.post("/oauth/introspect", data={"token": token}, headers=basic())
    assert (limited.status_code, limited.get_json()["error"]) == (429, "rate_limited")
    assert int(limited.headers["Retry-After"]) > 0
    for _ in range(2):  # "orders" is spent, "payments" has its whole allowance
        assert introspect(client, token, basic("payments"))["active"] is True


def test_answers_are_not_stored(client, login):
    response = client.post("/oauth/introspect", data={"token": login()["access_token"]}, headers=basic())
    assert response.headers["Cache-Control"] == "no-store"


def test_guessing_a_secret_is_slowed_per_address(client, login):
    allowed = int(REFUSED_CLIENT_LIMIT.split("/")[0])
    token = login()["access_token"]
    statuses = [client.post("/oauth/introspect", data={"token": token}, headers=basic("orders", f"guess{i}")).status_code
                for i in range(allowed + 1)]
    assert statuses == [401] * allowed + [429]
    other = client.post("/oauth/introspect", data={"token": token}, headers=basic(),
                        environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200  # another address, and the right secret: unaffected
