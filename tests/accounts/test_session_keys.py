"""GET /wx/session: does WeChat still hold the session key stored at the last login?"""

import requests

from ..conftest import APPID, SECRET, fresh_code


def check(client, token):
    return client.get("/wx/session", headers={"Authentication": token})


def test_a_fresh_login_is_valid(client, login):
    response = check(client, login()["access_token"])
    assert (response.status_code, response.get_json()) == (200, {"valid": True})


def test_a_session_renewed_behind_our_back_is_not(client, login, simulator):
    tokens = login("alice")
    # the mini program called wx.login() again and its new code went elsewhere: WeChat
    # now holds another session key for alice
    params = {"appid": APPID, "secret": SECRET, "js_code": fresh_code("alice"),
              "grant_type": "authorization_code"}
    requests.get(f"{simulator.url}/sns/jscode2session", params=params, timeout=5)
    assert check(client, tokens["access_token"]).get_json() == {"valid": False}
    again = client.post("/wx/login", json={"code": fresh_code("alice")}).get_json()
    assert check(client, again["access_token"]).get_json() == {"valid": True}


def test_needs_a_token(client):
    assert check(client, "").status_code == 401


def script(simulator, api, errcode, times=1):
    body = {"api": api, "errcode": errcode, "times": times}
    assert requests.post(f"{simulator.url}/simulator/fail", json=body, timeout=5).json()["errcode"] == 0


def test_a_refused_access_token_is_replaced_and_the_check_retried(client, login, simulator):
    """WeChat refuses the token it still hands out: a normal fetch returns that same token,
    so a forced refresh follows (two stable_token calls), then the check succeeds."""
    token = login()["access_token"]
    assert check(client, token).get_json() == {"valid": True}
    before = simulator.calls["stable_token"]
    script(simulator, "checksession", 40001)
    assert check(client, token).get_json() == {"valid": True}
    assert simulator.calls["stable_token"] == before + 2


def test_wechat_failures_of_the_platform_apis(client, login, simulator):
    token = login()["access_token"]
    check(client, token)  # an access token exists
    script(simulator, "checksession", -1, times=3)
    response = check(client, token)
    assert (response.status_code, response.get_json()["error"]) == (503, "upstream_unavailable")
    script(simulator, "checksession", "nonjson")
    assert check(client, token).status_code == 502
    script(simulator, "getuserphonenumber", 45011)
    response = client.post("/wx/phone", json={"code": "sim-phone:1:x"}, headers={"Authentication": token})
    assert (response.status_code, response.get_json()["error"]) == (429, "rate_limited")
