"""Hostile input: forged tokens, malformed headers and bodies, odd text. Each gets the
right JSON error, never a 500 or an HTML page."""

import base64
import hashlib
import hmac
import json
import time

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from wxlogin import create_app

from ..conftest import APPID, ES256, JWT_KEY, OTHER_APPID, PRIVATE_KEY, app_config

# How the service signs in this run (TEST_JWT_ALGORITHM): what a forger without the key lacks.
OUR_KEY, OUR_ALGORITHM = (
    (serialization.load_pem_private_key(PRIVATE_KEY.encode(), None), "ES256") if ES256 else (JWT_KEY, "HS256")
)
OTHER_EC_KEY = ec.generate_private_key(ec.SECP256R1())


def b64(data):
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims_of(token):
    return pyjwt.decode(token, options={"verify_signature": False})


def sign(claims, key=None, algorithm=None, headers=None):
    """Signed as the service signs (its key, algorithm and kid) unless told otherwise."""
    return pyjwt.encode(claims, key or OUR_KEY, algorithm=algorithm or OUR_ALGORITHM, headers=headers)


def ours(token, claims):
    """Claims signed with our own key and kid: what only the service can make."""
    return sign(claims, headers={"kid": pyjwt.get_unverified_header(token)["kid"]})


def hs256_keyed_with(secret, token, claims):
    """HS256 with ``secret`` as the HMAC key, made by hand (PyJWT refuses a PEM as a
    secret): the algorithm-confusion attack on services that verify with a public key."""
    header = {"alg": "HS256", "typ": "JWT", "kid": pyjwt.get_unverified_header(token)["kid"]}
    signing_input = f"{b64(header)}.{b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def our_public_pem():
    return OUR_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ) if ES256 else RSA_PUBLIC_PEM


def me(client, token):
    return client.get("/wx/me", headers={"Authentication": token})


def refused(response, status=401):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    return response.get_json()["error"]


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PUBLIC_PEM = RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)

FORGERIES = {
    "tampered payload": lambda t, c: ".".join([t.split(".")[0], b64({**c, "sub": "999"}), t.split(".")[2]]),
    "alg none": lambda t, c: ".".join([b64({"alg": "none", "typ": "JWT"}), b64(c), ""]),
    "alg none, signature kept": lambda t, c: ".".join([b64({"alg": "none"}), t.split(".")[1], t.split(".")[2]]),
    "RS256 with our own private key": lambda t, c: sign(c, RSA_KEY, "RS256"),
    "HS256 keyed with an RSA public key": lambda t, c: ".".join(
        [b64({"alg": "HS256", "typ": "JWT"}), b64(c), b64(b"forged")]
    ),
    "another key": lambda t, c: sign(c, "another-key-" + "z" * 40, "HS256"),
    "HS512 with our key": lambda t, c: sign(c, JWT_KEY * 2, "HS512"),
    "unknown kid": lambda t, c: sign(c, "another-key-" + "z" * 40, "HS256", headers={"kid": "nope"}),
    "our key, no kid": lambda t, c: sign(c),
    "our key, an unknown kid": lambda t, c: sign(c, headers={"kid": "nope"}),
    "our kid, another P-256 key": lambda t, c: sign(
        c, OTHER_EC_KEY, "ES256", headers={"kid": pyjwt.get_unverified_header(t)["kid"]}),
    "HS256 keyed with our public key": lambda t, c: hs256_keyed_with(our_public_pem(), t, c),
    "HS256 keyed with our kid": lambda t, c: hs256_keyed_with(pyjwt.get_unverified_header(t)["kid"].encode(), t, c),
    "wrong issuer": lambda t, c: ours(t, {**c, "iss": "someone-else"}),
    "no issuer": lambda t, c: ours(t, {k: v for k, v in c.items() if k != "iss"}),
    "audience not ours": lambda t, c: ours(t, {**c, "aud": "wxsomeoneelse"}),
    "no audience": lambda t, c: ours(t, {k: v for k, v in c.items() if k != "aud"}),
    "no session id": lambda t, c: ours(t, {k: v for k, v in c.items() if k != "sid"}),
    "no generation": lambda t, c: ours(t, {k: v for k, v in c.items() if k != "gen"}),
    "no token id": lambda t, c: ours(t, {k: v for k, v in c.items() if k != "jti"}),
    "no subject": lambda t, c: ours(t, {k: v for k, v in c.items() if k != "sub"}),
    "subject not a user id": lambda t, c: ours(t, {**c, "sub": "alice"}),
    "subject a huge number": lambda t, c: ours(t, {**c, "sub": "9" * 40}),
    "generation as text": lambda t, c: ours(t, {**c, "gen": "0"}),
    "refresh type": lambda t, c: ours(t, {**c, "type": "refresh"}),
    "not yet valid": lambda t, c: ours(t, {**c, "nbf": int(time.time()) + 3600}),
    "two dots only": lambda t, c: "..",
    "not base64": lambda t, c: "@@@.###.$$$",
    "header is not JSON": lambda t, c: ".".join([b64(b"nope"), t.split(".")[1], t.split(".")[2]]),
    "a megabyte": lambda t, c: "a" * 60000,
}


@pytest.mark.parametrize("name", FORGERIES)
def test_forged_tokens_are_refused(client, login, name):
    token = login()["access_token"]
    forged = FORGERIES[name](token, claims_of(token))
    assert refused(me(client, forged)) == "token_invalid"


def test_an_expired_token_signed_with_our_key(client, login):
    token = login()["access_token"]
    claims = {**claims_of(token), "exp": int(time.time()) - 120, "iat": int(time.time()) - 240}
    assert refused(me(client, ours(token, claims))) == "token_expired"


def test_a_little_clock_skew_is_tolerated(client, login):
    token = login()["access_token"]
    claims = {**claims_of(token), "nbf": int(time.time()) + 10, "iat": int(time.time()) + 10}
    assert me(client, ours(token, claims)).status_code == 200


def test_a_token_for_another_configured_app_is_that_apps(client, login):
    token = login(appid=OTHER_APPID)["access_token"]
    assert claims_of(token)["aud"] == OTHER_APPID and claims_of(token)["iss"] == "wxlogin"
    assert me(client, token).status_code == 200


@pytest.mark.skipif(ES256, reason="HS256 keys (ES256 rotation: tests/security/test_signing.py)")
def test_previous_signing_keys_still_verify(database_url, simulator, tmp_path, login, client):
    token = login()["access_token"]
    new_key = "the-next-signing-key-" + "n" * 32
    rotated = create_app(
        app_config(database_url, simulator.url, JWT_SECRET_KEY=new_key, JWT_PREVIOUS_SECRET_KEYS=[JWT_KEY]),
        instance_path=str(tmp_path),
    )
    assert me(rotated.test_client(), token).status_code == 200
    fresh = rotated.test_client().post("/wx/login", json={"code": "sim:alice:rotated"}).get_json()
    assert pyjwt.decode(fresh["access_token"], new_key, algorithms=["HS256"], audience=APPID)["sub"]
    dropped = create_app(
        app_config(database_url, simulator.url, JWT_SECRET_KEY=new_key), instance_path=str(tmp_path)
    )
    assert refused(me(dropped.test_client(), token)) == "token_invalid"


@pytest.mark.parametrize(
    "headers, error",
    [
        ({"Authentication": ""}, "token_missing"),
        ({"Authentication": "Bearer"}, "token_invalid"),
        ({"Authentication": "Bearer a b"}, "token_invalid"),
        ({"Authentication": "Basic dXNlcjpwYXNz"}, "token_invalid"),
        ({"Authorization": "Token abc"}, "token_missing"),
        ({"Authorization": "Bearer"}, "token_missing"),
        ({"Authentication": "\u4f60\u597d"}, "token_invalid"),
    ],
)
def test_malformed_token_headers(client, headers, error):
    assert refused(client.get("/wx/me", headers=headers)) == error


@pytest.mark.parametrize(
    "content_type, data, status",
    [
        ("application/json", b"", 400),
        ("application/json", b"null", 422),
        ("application/json", b'"just a string"', 422),
        ("application/json", b"\xef\xbb\xbf{}", 400),
        ("application/json; charset=utf-16", '{"title": "x"}'.encode("utf-16"), 400),
        ("text/plain", b'{"title": "x"}', 400),
        ("application/xml", b"<note/>", 400),
        ("multipart/form-data; boundary=x", b"--x--", 400),
        ("application/json", b'{"title": "x", "title": "y"}', 201),
        ("application/json", b'{"title": "\\u0000"}', 422),
        ("application/json", b'{"title": "\\ud83d"}', 422),
        ("application/json", b'{"title": "\\u202eevil"}', 201),
        ("application/json", '{"title": "标题 🐼", "content": "第一行\\n第二行\\t"}'.encode(), 201),
        ("application/json", b'{"title": "bell\\u0007"}', 422),
        ("application/json", b'{"title": 1e999}', 422),
        ("application/json", b'{"title": NaN}', 422),
        ("application/json", b'{"title": {"$ne": null}}', 422),
    ],
)
def test_odd_bodies(client, auth, content_type, data, status):
    response = client.post("/wx/notes", data=data, headers={**auth(), "Content-Type": content_type})
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    if status >= 400:
        assert response.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize("path", ["/wx/notes/%00", "/wx/notes/1%2F2", "/wx/%E4%BD%A0", "/../etc/passwd", "/wx/notes/1.0"])
def test_odd_paths_are_json_404(client, auth, path):
    response = client.get(path, headers=auth())
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


@pytest.mark.parametrize("path", ["//wx//me", "/wx//me", "/wx/me/"])
def test_extra_slashes_are_json_404_not_a_redirect(client, auth, path):
    # PATH_INFO as a server passes it (the test client would read "//wx" as a host name).
    response = client.get("/", environ_overrides={"PATH_INFO": path}, headers=auth())
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    assert "Location" not in response.headers


@pytest.mark.parametrize("query", ["page=%00", "page=1e3", "per_page=-0", "page=%E4%BD%A0", "page=99999999999999999999"])
def test_odd_queries_are_422(client, auth, query):
    response = client.get(f"/wx/notes?{query}", headers=auth())
    assert response.status_code == 422 and response.get_json()["error"] == "invalid_request"
