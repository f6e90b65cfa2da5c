"""Reading and refusing tokens on a protected route (GET /wx/me); forgeries: test_hostile."""

from datetime import timedelta

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_access_token

from wxlogin.extensions import db
from wxlogin.models import User


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
    assert_refused(me(client, Authentication=token), "token_revoked")  # API.md: a deleted account's tokens


def test_tokens_carry_a_string_identity_and_the_session_claims(login):
    body = login()
    access, refresh = _claims(body["access_token"]), _claims(body["refresh_token"])
    assert access["sub"] == str(body["user"]["id"])
    assert access["type"] == "access" and refresh["type"] == "refresh"
    assert access["sid"] == refresh["sid"]
    assert access["jti"] != refresh["jti"]
    assert access["exp"] - access["iat"] == 7200
    assert refresh["exp"] - refresh["iat"] == 2592000
