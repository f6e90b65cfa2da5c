"""ES256 signing: tokens name their key, former public keys still verify (and stay
published), and only the configured algorithm is accepted."""

import jwt as pyjwt

from wxlogin import create_app
from wxlogin.security import keys

from ..conftest import APPID, JWT_KEY, app_config, fresh_code


def es256_app(database_url, simulator, tmp_path, private, previous=()):
    config = app_config(database_url, simulator.url, JWT_PRIVATE_KEY=private,
                        JWT_PREVIOUS_PUBLIC_KEYS=list(previous))
    config.pop("JWT_SECRET_KEY", None)
    return create_app(config, instance_path=str(tmp_path))


def access_token(app, name="alice"):
    response = app.test_client().post("/wx/login", json={"code": fresh_code(name)})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def me(app, token):
    return app.test_client().get("/wx/me", headers={"Authentication": token})


def test_tokens_are_es256_and_name_their_key(app, database_url, simulator, tmp_path):
    private, public = keys.generate()
    service = es256_app(database_url, simulator, tmp_path, private)
    token = access_token(service)
    header = pyjwt.get_unverified_header(token)
    assert header["alg"] == "ES256"
    assert header["kid"] == keys.key_id(keys.load_public_keys(public)[0])
    claims = pyjwt.decode(token, keys.load_public_keys(public)[0], algorithms=["ES256"], audience=APPID)
    assert claims["iss"] == "wxlogin" and me(service, token).status_code == 200


def test_a_rotated_key_still_verifies_its_tokens_and_stays_published(app, database_url, simulator, tmp_path):
    old_private, old_public = keys.generate()
    old_token = access_token(es256_app(database_url, simulator, tmp_path, old_private))
    new_private, _ = keys.generate()
    rotated = es256_app(database_url, simulator, tmp_path, new_private, previous=[old_public])
    assert me(rotated, old_token).status_code == 200
    new_token = access_token(rotated, "bob")
    assert pyjwt.get_unverified_header(new_token)["kid"] != pyjwt.get_unverified_header(old_token)["kid"]
    published = rotated.test_client().get("/.well-known/jwks.json").get_json()["keys"]
    assert [k["kid"] for k in published] == [pyjwt.get_unverified_header(t)["kid"] for t in (new_token, old_token)]
    dropped = es256_app(database_url, simulator, tmp_path, new_private)
    assert me(dropped, old_token).get_json()["error"] == "token_invalid"


def test_hs256_tokens_are_refused_once_es256_is_configured(app, database_url, simulator, tmp_path):
    """Even with JWT_SECRET_KEY still set: one algorithm, the configured one."""
    hs256 = app_config(database_url, simulator.url, JWT_SECRET_KEY=JWT_KEY)
    hs256.pop("JWT_PRIVATE_KEY", None)  # whatever the run's algorithm (TEST_JWT_ALGORITHM)
    hs256_token = access_token(create_app(hs256, instance_path=str(tmp_path)))
    assert pyjwt.get_unverified_header(hs256_token)["alg"] == "HS256"
    both = create_app(app_config(database_url, simulator.url, JWT_SECRET_KEY=JWT_KEY,
                                 JWT_PRIVATE_KEY=keys.generate()[0]), instance_path=str(tmp_path))
    assert both.config["JWT_ALGORITHM"] == "ES256"
    assert me(both, hs256_token).get_json()["error"] == "token_invalid"
