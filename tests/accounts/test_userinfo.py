"""POST /wx/userinfo: encrypted user data from the simulator, checked and decrypted."""

import base64

import pytest
import requests

from ..conftest import APPID, OTHER_APPID


def sealed(simulator, user, **info):
    """What wx.getUserInfo gives the client of ``user`` (a login response's user)."""
    params = {"appid": user.get("appid", APPID), "openid": user["openid"], **info}
    return requests.get(f"{simulator.url}/simulator/userinfo", params=params, timeout=5).json()


def post(client, token, body):
    return client.post("/wx/userinfo", json=body, headers={"Authentication": token})


def flip(b64, index):
    raw = bytearray(base64.b64decode(b64))
    raw[index] ^= 1
    return base64.b64encode(raw).decode()


def test_nickname_and_avatar_are_taken(client, login, simulator):
    tokens = login()
    body = sealed(simulator, tokens["user"], nickname="小明 🐼", avatar_url="https://example.com/a.png")
    response = post(client, tokens["access_token"], body)
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["nickname"], response.get_json()["avatar_url"]) == ("小明 🐼", "https://example.com/a.png")


def test_without_signature_too(client, login, simulator):
    tokens = login()
    body = sealed(simulator, tokens["user"], nickname="Bo")
    response = post(client, tokens["access_token"], {"encrypted_data": body["encrypted_data"], "iv": body["iv"]})
    assert response.get_json()["nickname"] == "Bo"


def error(response):
    return response.status_code, response.get_json()["error"]


def test_a_bad_signature_is_400(client, login, simulator):
    tokens = login()
    body = sealed(simulator, tokens["user"])
    assert error(post(client, tokens["access_token"], {**body, "signature": "0" * 40})) == (400, "invalid_signature")
    assert error(post(client, tokens["access_token"], {**body, "raw_data": body["raw_data"] + " "})) == (400, "invalid_signature")
    assert error(post(client, tokens["access_token"], {**body, "signature": "签名" * 20})) == (400, "invalid_signature")


@pytest.mark.parametrize("tamper", [
    lambda b: {**b, "encrypted_data": flip(b["encrypted_data"], -1)},  # padding broken
    lambda b: {**b, "encrypted_data": flip(b["encrypted_data"], 3)},  # first block garbled
    lambda b: {**b, "iv": flip(b["iv"], 0)},  # a wrong IV
])
def test_data_that_does_not_decrypt_is_session_key_stale(client, login, simulator, tamper):
    tokens = login()
    body = sealed(simulator, tokens["user"])
    body.pop("signature"), body.pop("raw_data")
    assert error(post(client, tokens["access_token"], tamper(body))) == (409, "session_key_stale")


def test_a_stale_session_key_is_409(client, login, simulator):
    """Data sealed under the session of an earlier login: the stored key has moved on."""
    first = login("alice")
    body = sealed(simulator, first["user"])
    login("alice")  # a new login: a new session key at WeChat and here
    assert error(post(client, first["access_token"], body)) == (409, "session_key_stale")


@pytest.mark.parametrize("change, status", [
    (lambda b: {**b, "iv": "not base64!"}, 400),
    (lambda b: {**b, "encrypted_data": "%%%"}, 400),
    (lambda b: {**b, "iv": base64.b64encode(b"short").decode()}, 400),
    (lambda b: {k: v for k, v in b.items() if k != "signature"}, 422),
    (lambda b: {k: v for k, v in b.items() if k != "iv"}, 422),
])
def test_malformed_input(client, login, simulator, change, status):
    tokens = login()
    response = post(client, tokens["access_token"], change(sealed(simulator, tokens["user"])))
    assert response.status_code == status
    assert response.get_json()["error"] == "invalid_request"


def test_a_watermark_of_another_app_is_400(client, login, simulator):
    tokens = login()
    body = sealed(simulator, tokens["user"], watermark_appid=OTHER_APPID)
    assert error(post(client, tokens["access_token"], body)) == (400, "invalid_request")


@pytest.mark.parametrize("avatar", ["https://example.com/a\x9f.png", "https://example.com/\x7f", "ftp://example.com/a.png"])
def test_an_avatar_patch_would_refuse_is_not_stored(client, login, simulator, avatar):
    """One rule per field: what PATCH /wx/me refuses, the encrypted data cannot store."""
    tokens = login()
    headers = {"Authentication": tokens["access_token"]}
    assert client.patch("/wx/me", json={"avatar_url": avatar}, headers=headers).status_code == 422
    body = sealed(simulator, tokens["user"], nickname="Cy", avatar_url=avatar)
    response = post(client, tokens["access_token"], {"encrypted_data": body["encrypted_data"], "iv": body["iv"]})
    assert response.status_code == 200
    assert (response.get_json()["nickname"], response.get_json()["avatar_url"]) == ("Cy", None)
