"""The standalone simulator (``flask --debug simulator``, a process of its own) as a real SDK
sees it: wechatpy, unchanged, whose requests to api.weixin.qq.com go to the simulator.

Every test runs twice: at the simulator's root, as WeChat is reached, and under
/_simulator, where the development server serves it. wechatpy sends its POST bodies
without a Content-Type, and has no call of its own for getuserphonenumber and checksession:
those go through its generic ``get``/``post`` (which add the access token, as for its own).
"""

import hashlib
import hmac
import io
import json
import uuid

import pytest
import requests
import zxingcpp
from PIL import Image
from requests.adapters import HTTPAdapter
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from wxlogin.wechat.simulator.rules import _stable_id

from ..processes import APPID, SECRET, production_env, start_simulator, stop

WECHAT = "https://api.weixin.qq.com/"


@pytest.fixture(scope="module")
def simulator_url(tmp_path_factory):
    """The standalone simulator, checking APPID and SECRET as WeChat would."""
    tmp = tmp_path_factory.mktemp("sdk")
    env = production_env(f"sqlite:///{tmp}/unused.sqlite")
    process, url = start_simulator(env, tmp)
    yield url
    stop(process)


class ToSimulator(HTTPAdapter):
    """Sends what the SDK addresses to WeChat to the simulator, over HTTP; remembers each
    request's method, path and Content-Type."""

    def __init__(self, base):
        super().__init__()
        self.base, self.sent = base, []

    def send(self, request, **kwargs):
        request.url = self.base + request.url.removeprefix(WECHAT)
        self.sent.append((request.method, request.path_url.split("?")[0], request.headers.get("Content-Type")))
        return super().send(request, **kwargs)


@pytest.fixture(params=["/", "/_simulator/"], ids=["root", "prefixed"])
def base(request, simulator_url):
    return simulator_url + request.param


@pytest.fixture
def sdk(base):
    """A wechatpy client of the simulated app: ``sdk(appid, secret, **kwargs)``."""

    def make(appid=APPID, secret=SECRET, **kwargs):
        client = WeChatClient(appid, secret, **kwargs)
        client.transport = ToSimulator(base)
        client._http.mount(WECHAT, client.transport)  # wechatpy's requests.Session
        return client

    return make


def errcode(call):
    with pytest.raises(WeChatClientException) as raised:
        call()
    return raised.value.errcode


def test_the_access_token_is_wechats_shape(sdk):
    answer = sdk().fetch_access_token()
    assert set(answer) == {"access_token", "expires_in"} and answer["expires_in"] == 7200
    assert sdk().fetch_access_token()["access_token"] != answer["access_token"]  # one per call


def test_wrong_appid_or_secret_is_refused_like_wechat(sdk):
    assert errcode(sdk("wxunknown0000000").fetch_access_token) == 40013
    assert errcode(sdk(secret="not-the-secret").fetch_access_token) == 40125
    token = sdk().fetch_access_token()["access_token"]  # code2session checks the secret itself
    assert errcode(lambda: sdk(secret="wrong", access_token=token).wxa.code_to_session("sim:ann")) == 40125


def test_code_to_session_logs_in_with_sim_and_devtools_codes(sdk):
    client = sdk()
    session = client.wxa.code_to_session(f"sim:ann:{uuid.uuid4().hex}")
    assert session["openid"] == _stable_id("o", f"{APPID}:ann") and session["session_key"]
    devtools_code = "0" + uuid.uuid4().hex[:31].upper()  # as wx.login() gives in DevTools
    session = client.wxa.code_to_session(devtools_code)
    assert session["openid"] == _stable_id("o", f"{APPID}:devtools")
    assert errcode(lambda: client.wxa.code_to_session(devtools_code)) == 40163
    assert errcode(lambda: client.wxa.code_to_session("bogus")) == 40029


def test_checksession_and_phone_number_with_the_sdks_token(sdk):
    client = sdk()
    session = client.wxa.code_to_session(f"sim:ann:{uuid.uuid4().hex}")
    signature = hmac.new(session["session_key"].encode(), b"", hashlib.sha256).hexdigest()
    check = {"openid": session["openid"], "signature": signature, "sig_method": "hmac_sha256"}
    assert client.get(f"{WECHAT}wxa/checksession", params=check)["errcode"] == 0
    bad = {**check, "signature": "0" * 64}
    assert errcode(lambda: client.get(f"{WECHAT}wxa/checksession", params=bad)) == 87009
    code = f"sim-phone:13800138000:{uuid.uuid4().hex}"
    phone = client.post(f"{WECHAT}wxa/business/getuserphonenumber", data={"code": code})
    assert phone["phone_info"]["purePhoneNumber"] == "13800138000"
    assert ("POST", "/wxa/business/getuserphonenumber", None) in [
        (method, path.removeprefix("/_simulator"), kind) for method, path, kind in client.transport.sent
    ]  # the body was read as JSON although no Content-Type said so


def test_a_stable_token_posted_without_content_type_serves_the_sdk(base, sdk):
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    response = requests.post(f"{base}cgi-bin/stable_token", data=json.dumps(body), timeout=5)
    assert "Content-Type" not in response.request.headers
    answer = response.json()
    assert answer["expires_in"] > 0
    client = sdk(access_token=answer["access_token"], auto_retry=False)  # refused: 40001 raised
    code = f"sim-phone:13900139000:{uuid.uuid4().hex}"
    phone = client.post(f"{WECHAT}wxa/business/getuserphonenumber", data={"code": code})
    assert phone["phone_info"]["phoneNumber"] == "13900139000"
    assert "cgi-bin/token" not in str(client.transport.sent)  # the stable token was used


def decode(png):
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    found = zxingcpp.read_barcodes(image)
    assert [barcode.format for barcode in found] == [zxingcpp.BarcodeFormat.QRCode]
    return image, json.loads(found[0].text)


def test_the_mini_program_code_is_a_png_that_decodes_to_the_scene(sdk):
    client = sdk()
    response = client.wxa.get_wxa_code_unlimited("id=42&from=sdk", page="pages/note/note", width=300)
    assert response.headers["Content-Type"] == "image/png"
    image, content = decode(response.content)
    assert content == {"appid": APPID, "page": "pages/note/note", "scene": "id=42&from=sdk",
                       "env_version": "release"}
    assert 250 <= image.width <= 300
    _, home = decode(client.wxa.get_wxa_code_unlimited("7").content)
    assert (home["scene"], home["page"]) == ("7", "")


def test_the_mini_program_code_refuses_like_wechat(sdk):
    wxa = sdk().wxa
    assert errcode(lambda: wxa.get_wxa_code_unlimited("x" * 33)) == 40169
    assert errcode(lambda: wxa.get_wxa_code_unlimited("")) == 40169
    assert errcode(lambda: wxa.get_wxa_code_unlimited("100%")) == 40129
    assert errcode(lambda: wxa.get_wxa_code_unlimited("x", page="/pages/index/index")) == 41030
    forged = sdk(access_token="sim-at-forged", auto_retry=False).wxa
    assert errcode(lambda: forged.get_wxa_code_unlimited("x")) == 40001
    # with its retries on, the SDK fetches a new token on 40001 and gets the code
    retried = sdk(access_token="sim-at-forged").wxa.get_wxa_code_unlimited("x")
    assert decode(retried.content)[1]["scene"] == "x"
