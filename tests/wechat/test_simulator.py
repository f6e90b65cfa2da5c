"""The WeChat simulator: WeChat's answers over HTTP, standalone and refused in production;
the same in-process and embedded in the development app. (A real SDK against it:
``test_simulator_sdk``.)"""

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import uuid
from types import SimpleNamespace

import pytest
import requests

from wxlogin import create_app
from wxlogin.config import SIMULATOR_APPID
from wxlogin.wechat.simulator import Simulator, SimulatorAdapter, server_apis
from wxlogin.wechat.simulator.rules import _stable_id

from ..conftest import (
    APPID,
    JWT_KEY,
    OTHER_APPID,
    OTHER_SECRET,
    SECRET,
    app_config,
    free_port,
)


def ask(simulator, code, appid=APPID, secret=SECRET, **extra):
    params = {"appid": appid, "secret": secret, "js_code": code, "grant_type": "authorization_code"}
    return requests.get(f"{simulator.url}/sns/jscode2session", params={**params, **extra}, timeout=5)


def test_answers_like_wechat(simulator):
    response = ask(simulator, "sim:alice:sim-test-1")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    body = response.json()
    assert body["openid"] == _stable_id("o", f"{APPID}:alice")
    assert len(body["openid"]) == 28 and len(body["session_key"]) == 24
    assert "errcode" not in body


def test_codes_are_single_use(simulator):
    assert "openid" in ask(simulator, "sim:alice:sim-test-2").json()
    assert ask(simulator, "sim:alice:sim-test-2").json()["errcode"] == 40163


def test_unionid_is_shared_across_apps_and_openid_is_not(simulator):
    one = ask(simulator, "sim:bob:sim-test-3").json()
    two = ask(simulator, "sim:bob:sim-test-3", appid=OTHER_APPID, secret=OTHER_SECRET).json()
    assert one["unionid"] == two["unionid"] and one["openid"] != two["openid"]


@pytest.mark.parametrize(
    "kwargs, errcode",
    [
        ({"code": "sim:a:t4", "secret": "wrong"}, 40125),
        ({"code": "sim:a:t5", "appid": "wxunknown"}, 40013),
        ({"code": ""}, 41008),
        ({"code": "sim:a:t6", "grant_type": "client_credential"}, 40002),
        ({"code": "sim:"}, 40029),
        ({"code": "whatever"}, 40029),
        ({"code": "sim-fail:45011"}, 45011),
        # shaped almost like a DevTools code: one short, one long, not letters and digits only
        ({"code": "a" * 31}, 40029),
        ({"code": "a" * 33}, 40029),
        ({"code": "a" * 31 + "-"}, 40029),
        ({"code": "a" * 31 + "\u00e9"}, 40029),
    ],
)
def test_errors_like_wechat(simulator, kwargs, errcode):
    body = ask(simulator, **kwargs).json()
    assert body["errcode"] == errcode and body["errmsg"]


def devtools_code():
    """A code as wx.login() gives it in WeChat DevTools: 32 letters and digits."""
    return "0" + uuid.uuid4().hex[:31].upper()


def test_a_devtools_code_logs_in_once_as_the_devtools_user(simulator):
    code = devtools_code()
    body = ask(simulator, code).json()
    assert body["openid"] == _stable_id("o", f"{APPID}:devtools")
    assert body["unionid"] == ask(simulator, f"sim:devtools:{uuid.uuid4()}").json()["unionid"]
    assert ask(simulator, code).json()["errcode"] == 40163
    assert ask(simulator, devtools_code()).json()["openid"] == body["openid"]


def test_the_development_server_logs_a_devtools_code_in(app, database_url, simulator, tmp_path):
    """The embedded simulator (no WX_APPID), as a demo in DevTools reaches it; and its routes
    under /_simulator answer WeChat's JSON for an unknown API too."""
    dev = create_app(app_config(database_url, simulator.url, WX_APPS={}), instance_path=str(tmp_path))
    assert dev.config["WX_SIMULATOR_EMBEDDED"]
    login = dev.test_client().post("/wx/login", json={"code": devtools_code()})
    assert login.status_code == 200, login.get_json()
    assert login.get_json()["user"]["openid"] == _stable_id("o", f"{SIMULATOR_APPID}:devtools")
    unknown = dev.test_client().get("/_simulator/cgi-bin/nonexistent")
    assert unknown.status_code == 200 and json.loads(unknown.data)["errcode"] == 40066


def token_params(**change):
    return {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, **change}


def test_cgi_bin_token_serves_the_server_apis(simulator):
    answer = requests.get(f"{simulator.url}/cgi-bin/token", params=token_params(), timeout=5).json()
    assert set(answer) == {"access_token", "expires_in"} and answer["expires_in"] == 7200
    login = ask(simulator, f"sim:carl:{uuid.uuid4()}").json()
    signature = hmac.new(login["session_key"].encode(), b"", hashlib.sha256).hexdigest()
    check = {"access_token": answer["access_token"], "openid": login["openid"], "signature": signature}
    assert requests.get(f"{simulator.url}/wxa/checksession", params=check, timeout=5).json()["errcode"] == 0


@pytest.mark.parametrize(
    "change, errcode",
    [({"grant_type": "authorization_code"}, 40002), ({"appid": ""}, 41002), ({"appid": "wxunknown"}, 40013),
     ({"secret": ""}, 41004), ({"secret": "wrong"}, 40125), ({"secret": "wr\u00f6ng"}, 40125)],
)
def test_cgi_bin_token_refuses_like_wechat(simulator, change, errcode):
    answer = requests.get(f"{simulator.url}/cgi-bin/token", params=token_params(**change), timeout=5)
    assert answer.json()["errcode"] == errcode


def test_a_replaced_token_works_five_more_minutes(monkeypatch):
    now = 1000.0
    monkeypatch.setattr(server_apis, "time", SimpleNamespace(monotonic=lambda: now, time=time.time))
    sim = Simulator({APPID: SECRET})
    first, second = (sim.handle("GET", "/cgi-bin/token", token_params())["access_token"] for _ in "12")

    def works(token):
        answer = sim.handle("POST", "/wxa/getwxacodeunlimit", {"access_token": token}, b'{"scene": "x"}')
        return isinstance(answer, bytes) or answer["errcode"]

    assert works(first) is works(second) is True
    now += 301
    assert (works(first), works(second)) == (40001, True)
    now += 7200
    assert works(second) == 40001


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_post_bodies_are_json_whatever_the_content_type(simulator, content_type):
    def post(path, data, **params):
        headers = {"Content-Type": content_type} if content_type else {}
        url = f"{simulator.url}{path}"
        return requests.post(url, params=params, data=data, headers=headers, timeout=5).json()

    token = post("/cgi-bin/stable_token", json.dumps(token_params()))["access_token"]
    code = json.dumps({"code": f"sim-phone:1:{uuid.uuid4()}"})
    assert post("/wxa/business/getuserphonenumber", code, access_token=token)["phone_info"]["phoneNumber"] == "1"
    assert post("/cgi-bin/stable_token", "")["errcode"] == 44002
    assert post("/cgi-bin/stable_token", "grant_type=client_credential")["errcode"] == 47001


def every_mode(simulator, method, path, **params):
    """The answers of the standalone simulator at / and under /_simulator, and in-process."""
    in_process = requests.Session()
    in_process.mount("http://in-process.invalid/", SimulatorAdapter(Simulator({APPID: SECRET})))
    urls = [f"{simulator.url}{path}", f"{simulator.url}/_simulator{path}", f"http://in-process.invalid{path}"]
    return [in_process.request(method, url, params=params, timeout=5) for url in urls]


@pytest.mark.parametrize(
    "method, path, errcode",
    [("GET", "/cgi-bin/nonexistent", 40066), ("GET", "/", 40066), ("POST", "/sns/jscode2session", 43001),
     ("PUT", "/cgi-bin/token", 43001), ("GET", "/cgi-bin/stable_token", 43002),
     ("DELETE", "/wxa/getwxacodeunlimit", 43002), ("OPTIONS", "/simulator/fail", 43002)],
)
def test_unknown_apis_and_wrong_methods_answer_json_like_wechat(simulator, method, path, errcode):
    for response in every_mode(simulator, method, path):
        assert response.status_code == 200 and response.headers["Content-Type"] == "text/plain"
        assert response.json()["errcode"] == errcode, response.url


def test_every_mode_answers_at_the_same_paths(simulator):
    for response in every_mode(simulator, "GET", "/cgi-bin/token", **token_params()):
        assert response.json()["expires_in"] == 7200, response.url


def test_the_standalone_command_serves_the_simulator(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WX_", "DATABASE_URL", "JWT_"))}
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    process = subprocess.Popen(
        [flask, "--app", "wxlogin", "--debug", "simulator", "--port", str(port)],
        cwd=tmp_path, env={**env, "DATABASE_URL": f"sqlite:///{tmp_path}/dev.sqlite"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                response = requests.get(
                    f"http://127.0.0.1:{port}/sns/jscode2session",
                    params={"appid": "wxany", "secret": "any", "js_code": "sim:zoe",
                            "grant_type": "authorization_code"},
                    timeout=2,
                )
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert response.json()["openid"] == _stable_id("o", "wxany:zoe")
        prefixed = requests.get(f"http://127.0.0.1:{port}/_simulator/sns/jscode2session", params={
            "appid": "wxany", "secret": "any", "js_code": devtools_code(), "grant_type": "authorization_code"},
            timeout=2)
        assert prefixed.json()["openid"] == _stable_id("o", "wxany:devtools")
    finally:
        process.terminate()
        process.wait(10)


def test_refused_in_production(simulator, tmp_path):
    app = create_app(
        {"WX_APPS": {APPID: SECRET}, "JWT_SECRET_KEY": JWT_KEY,
         "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.sqlite"},
        instance_path=str(tmp_path),
    )
    assert not app.debug and not app.testing
    result = app.test_cli_runner().invoke(args=["simulator"])
    assert result.exit_code != 0
    assert "development only" in result.output
    assert app.test_client().get("/_simulator/sns/jscode2session").status_code == 404
