"""The WeChat client against the simulator over real HTTP."""

import logging
import traceback

import pytest

from wxlogin.wechat import WeChatClient, WeChatError

from .conftest import APPID, SECRET, WX_TIMEOUT, fresh_code, free_port


@pytest.fixture
def wechat(simulator):
    return WeChatClient({APPID: SECRET}, simulator.url, timeout=WX_TIMEOUT, backoff=0.01)


def test_code2session_returns_the_session(wechat):
    session = wechat.code2session(fresh_code("alice"))
    assert session.openid.startswith("o") and session.unionid
    assert session.session_key not in repr(session)


def test_busy_is_retried_a_bounded_number_of_times(wechat, simulator):
    before = simulator.calls["sim-fail:-1"]
    with pytest.raises(WeChatError) as raised:
        wechat.code2session("sim-fail:-1")
    assert (raised.value.status, raised.value.slug) == (503, "upstream_unavailable")
    assert simulator.calls["sim-fail:-1"] == before + wechat.retries + 1


def test_a_timeout_is_not_retried(wechat, simulator):
    before = simulator.calls["sim-fail:timeout"]
    with pytest.raises(WeChatError) as raised:
        wechat.code2session("sim-fail:timeout")
    assert raised.value.slug == "upstream_timeout"
    assert simulator.calls["sim-fail:timeout"] == before + 1


def test_other_errcodes_are_not_retried(wechat, simulator):
    before = simulator.calls["sim-fail:40029"]
    with pytest.raises(WeChatError):
        wechat.code2session("sim-fail:40029")
    assert simulator.calls["sim-fail:40029"] == before + 1



def test_unreachable_wechat_leaks_no_secret(caplog):
    caplog.set_level(logging.DEBUG)
    client = WeChatClient({APPID: SECRET}, f"http://127.0.0.1:{free_port()}", timeout=1)
    with pytest.raises(WeChatError) as raised:
        client.code2session("sim:alice")
    error = raised.value
    assert (error.status, error.slug) == (502, "upstream_error")
    shown = "".join(traceback.format_exception(error)) + caplog.text
    assert SECRET not in shown
    assert error.__context__ is None and error.__cause__ is None


def test_one_pooled_session_per_process(wechat):
    assert wechat.session is wechat.session
    wechat.code2session(fresh_code("a"))
    wechat.code2session(fresh_code("b"))
    [pool] = wechat.session.adapters["http://"].poolmanager.pools._container.values()
    assert pool.num_connections == 1  # the second call reused the kept-alive connection
