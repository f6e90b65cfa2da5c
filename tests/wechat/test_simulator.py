"""The WeChat simulator: WeChat's answers over HTTP, standalone and refused in production."""

import os
import subprocess
import sys
import time

import pytest
import requests

from wxlogin import create_app
from wxlogin.wechat.simulator.rules import _stable_id

from ..conftest import APPID, JWT_KEY, OTHER_APPID, OTHER_SECRET, SECRET, free_port


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
    ],
)
def test_errors_like_wechat(simulator, kwargs, errcode):
    body = ask(simulator, **kwargs).json()
    assert body["errcode"] == errcode and body["errmsg"]



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
