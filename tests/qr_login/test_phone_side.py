"""The mini program's steps on a code: scan, then confirm or deny, by the user who scanned."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from ..conftest import OTHER_APPID, fresh_code
from .conftest import BROWSER, code_row, error, expire


def test_a_scan_shows_who_asked(client, app, new_code, phone):
    code = new_code()
    response = phone("alice").scan(code["scene"])
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["status"] == "scanned"
    assert 115 <= answer["expires_in"] <= 120
    requester = answer["requester"]
    assert (requester["ip"], requester["user_agent"]) == ("127.0.0.1", BROWSER)
    assert datetime.fromisoformat(requester["created_at"]) == code_row(app, code["scene"]).created_at


def test_the_scanner_may_scan_again_but_nobody_else(new_code, phone):
    code = new_code()
    alice, bob = phone("alice"), phone("bob")
    assert alice.scan(code["scene"]).status_code == 200
    assert alice.scan(code["scene"]).get_json()["status"] == "scanned"  # the page reopened
    assert error(bob.scan(code["scene"])) == (409, "qr_used")


def test_only_the_scanner_confirms(client, new_code, phone):
    code = new_code()
    alice, bob = phone("alice"), phone("bob")
    assert error(alice.confirm(code["scene"])) == (409, "qr_used")  # not scanned yet
    alice.scan(code["scene"])
    assert error(bob.confirm(code["scene"])) == (409, "qr_used")
    assert error(bob.deny(code["scene"])) == (409, "qr_used")
    assert alice.confirm(code["scene"]).get_json() == {"status": "confirmed"}
    assert error(alice.confirm(code["scene"])) == (409, "qr_used")
    assert error(alice.deny(code["scene"])) == (409, "qr_used")
    assert error(alice.scan(code["scene"])) == (409, "qr_used")


def test_a_denied_code_is_taken(new_code, phone):
    code = new_code()
    alice = phone("alice")
    assert error(alice.deny(code["scene"])) == (409, "qr_used")  # not scanned yet
    alice.scan(code["scene"])
    assert alice.deny(code["scene"]).get_json() == {"status": "denied"}
    for step in ("scan", "confirm", "deny"):
        assert error(alice.step(step, code["scene"])) == (409, "qr_used")


def test_an_expired_code_is_gone(app, new_code, phone):
    pending, scanned = new_code(), new_code()
    alice = phone("alice")
    alice.scan(scanned["scene"])
    expire(app, pending["scene"])
    expire(app, scanned["scene"])
    assert error(alice.scan(pending["scene"])) == (410, "qr_expired")
    assert error(alice.scan(scanned["scene"])) == (410, "qr_expired")
    assert error(alice.confirm(scanned["scene"])) == (410, "qr_expired")
    assert error(alice.deny(scanned["scene"])) == (410, "qr_expired")


def test_an_unknown_scene_or_one_of_another_mini_program_is_not_found(client, new_code, phone):
    alice = phone("alice")
    assert error(alice.scan("x" * 32)) == (404, "qr_not_found")
    other = new_code(appid=OTHER_APPID)
    assert error(alice.scan(other["scene"])) == (404, "qr_not_found")
    # The same person, logged in to the other mini program, may.
    token = client.post("/wx/login", json={"code": fresh_code("alice"), "appid": OTHER_APPID}).get_json()
    scan = client.post("/wx/qr-login/scan", json={"scene": other["scene"]},
                       headers={"Authentication": token["access_token"]})
    assert scan.status_code == 200


def test_every_step_needs_a_token_and_a_scene(client, new_code, phone):
    code = new_code()
    for step in ("scan", "confirm", "deny"):
        assert error(client.post(f"/wx/qr-login/{step}", json={"scene": code["scene"]})) == (401, "token_missing")
        refresh = client.post("/wx/login", json={"code": fresh_code("alice")}).get_json()["refresh_token"]
        assert error(client.post(f"/wx/qr-login/{step}", json={"scene": code["scene"]},
                                 headers={"Authentication": refresh})) == (401, "token_invalid")
        alice = phone("alice")
        for body in ({}, {"scene": ""}, {"scene": "x" * 33}, {"scene": 5}):
            response = client.post(f"/wx/qr-login/{step}", json=body, headers=alice.headers)
            assert error(response) == (422, "invalid_request"), body


def test_of_users_racing_for_a_code_exactly_one_has_it(new_code, phone):
    code = new_code()
    users = [phone(f"racer{number}") for number in range(6)]
    with ThreadPoolExecutor(len(users)) as pool:
        scans = list(pool.map(lambda user: user.scan(code["scene"]).status_code, users))
    assert sorted(scans) == [200] + [409] * 5
    winner = users[scans.index(200)]
    with ThreadPoolExecutor(len(users)) as pool:
        confirms = list(pool.map(lambda user: user.confirm(code["scene"]).status_code, users))
    assert confirms[users.index(winner)] == 200 and sorted(confirms) == [200] + [409] * 5


def test_errors_speak_chinese_when_asked(new_code, phone):
    alice = phone("alice")
    alice.headers["Accept-Language"] = "zh_CN"
    response = alice.scan("x" * 32)
    assert error(response) == (404, "qr_not_found")
    assert response.get_json()["message"] == "这不是本小程序的登录二维码。"


def test_a_web_sessions_token_cannot_make_another(client, new_code, phone):
    """A web session (or a token copied out of a web page) never approves a login."""
    code, alice = new_code(), phone("alice")
    alice.scan(code["scene"])
    alice.confirm(code["scene"])
    web = client.get(f"/wx/qr-login/{code['ticket']}").get_json()
    refreshed = client.post("/wx/refresh", headers={"Authentication": web["refresh_token"]}).get_json()
    another = new_code()
    for token in (web["access_token"], refreshed["access_token"]):
        response = client.post("/wx/qr-login/scan", json={"scene": another["scene"]},
                               headers={"Authentication": token})
        assert error(response) == (401, "token_invalid")
    assert alice.scan(another["scene"]).status_code == 200  # the mini program's still may
