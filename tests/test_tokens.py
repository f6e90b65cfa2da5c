"""Reading and refusing tokens on a protected route (GET /wx/me)."""

import base64
import json
from datetime import timedelta

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_access_token

from wxlogin.extensions import db
from wxlogin.models import User

from .conftest import JWT_KEY


def me(client, **headers):
    return client.get("/wx/me", headers=headers)


@pytest.mark.parametrize(
    "header, template",
    [
        ("Authentication", "{}"),
        ("Authentication", "Bearer {}"),
        ("Authentication", "bearer  {} "),
        ("Authorization", "Bearer {}"),
    ],
)
def test_the_three_header_forms_are_accepted(client, login, header, template):
    token = login()["access_token"]
    response = me(client, **{header: template.format(token)})
    assert response.status_code == 200
    assert response.get_json()["openid"]


def test_authentication_is_preferred_over_authorization(client, login):
    alice, bob = login("alice"), login("bob")
    response = me(
        client,
        Authentication=alice["access_token"],
        Authorization=f"Bearer {bob['access_token']}",
    )
    assert response.get_json()["id"] == alice["user"]["id"]


def assert_refused(response, slug):
    assert response.status_code == 401
    body = response.get_json()
    assert body["error"] == slug and body["message"]
    assert "msg" not in body


def test_no_token_is_token_missing(client):
    assert_refused(me(client), "token_missing")
    assert_refused(me(client, Authorization="Basic dXNlcjpwdw=="), "token_missing")


def _b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: "garbage",
        lambda t: "a.b.c",
        lambda t: t + "x",
        lambda t: "two parts " + t,
        # payload swapped for another user's id, signature kept
        lambda t: ".".join([t.split(".")[0], _b64({**_claims(t), "sub": "999"}), t.split(".")[2]]),
        # alg: none
        lambda t: ".".join([_b64({"alg": "none", "typ": "JWT"}), t.split(".")[1], ""]),
        # signed with another key
        lambda t: pyjwt.encode(_claims(t), "another-key-" + "z" * 32, algorithm="HS256"),
        # another algorithm than the pinned HS256 (key long enough for HS512)
        lambda t: pyjwt.encode(_claims(t), JWT_KEY * 2, algorithm="HS512"),
    ],
)
def test_forged_tokens_are_token_invalid(client, login, forge):
    token = login()["access_token"]
    assert_refused(me(client, Authentication=forge(token)), "token_invalid")


def _claims(token):
    return pyjwt.decode(token, options={"verify_signature": False})


def test_a_refresh_token_is_not_an_access_token(client, login):
    assert_refused(me(client, Authentication=login()["refresh_token"]), "token_invalid")


def test_an_expired_token_is_token_expired(client, app, login):
    claims = _claims(login()["access_token"])
    with app.app_context():
        token = create_access_token(
            identity=claims["sub"],
            expires_delta=timedelta(seconds=-60),  # past the 30 s leeway
            additional_claims={k: claims[k] for k in ("sid", "gen", "aud")},
        )
    assert_refused(me(client, Authentication=token), "token_expired")


def test_a_token_of_a_deleted_user_is_refused(client, app, login):
    token = login()["access_token"]
    with app.app_context():
        db.session.query(User).delete()
        db.session.commit()
    assert_refused(me(client, Authentication=token), "token_invalid")


def test_tokens_carry_a_string_identity_and_the_session_claims(login):
    body = login()
    access, refresh = _claims(body["access_token"]), _claims(body["refresh_token"])
    assert access["sub"] == str(body["user"]["id"])
    assert access["type"] == "access" and refresh["type"] == "refresh"
    assert access["sid"] == refresh["sid"]
    assert access["jti"] != refresh["jti"]
    assert access["exp"] - access["iat"] == 7200
    assert refresh["exp"] - refresh["iat"] == 2592000
