"""The WeChat client against the simulator over real HTTP."""

import logging
import os
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from wxlogin.wechat.client import WeChatClient, WeChatError

from ..conftest import APPID, SECRET, WX_TIMEOUT, free_port, fresh_code


@pytest.fixture
def wechat(simulator):
    return WeChatClient({APPID: SECRET}, simulator.url, timeout=WX_TIMEOUT, backoff=0.01)


def test_code2session_returns_the_wechat_session(wechat):
    wechat_session = wechat.code2session(fresh_code("alice"), APPID)
    assert wechat_session.openid.startswith("o") and wechat_session.unionid
    assert wechat_session.session_key not in repr(wechat_session)


def test_busy_is_retried_a_bounded_number_of_times(wechat, simulator):
    before = simulator.calls["sim-fail:-1"]
    with pytest.raises(WeChatError) as raised:
        wechat.code2session("sim-fail:-1", APPID)
    assert (raised.value.status, raised.value.slug) == (503, "upstream_unavailable")
    assert simulator.calls["sim-fail:-1"] == before + wechat.retries + 1


def test_a_timeout_is_not_retried(wechat, simulator):
    before = simulator.calls["sim-fail:timeout"]
    with pytest.raises(WeChatError) as raised:
        wechat.code2session("sim-fail:timeout", APPID)
    assert raised.value.slug == "upstream_timeout"
    assert simulator.calls["sim-fail:timeout"] == before + 1


def test_other_errcodes_are_not_retried(wechat, simulator):
    before = simulator.calls["sim-fail:40029"]
    with pytest.raises(WeChatError):
        wechat.code2session("sim-fail:40029", APPID)
    assert simulator.calls["sim-fail:40029"] == before + 1



def test_unreachable_wechat_leaks_no_secret(caplog):
    caplog.set_level(logging.DEBUG)
    client = WeChatClient({APPID: SECRET}, f"http://127.0.0.1:{free_port()}", timeout=1)
    with pytest.raises(WeChatError) as raised:
        client.code2session("sim:alice", APPID)
    error = raised.value
    assert (error.status, error.slug) == (502, "upstream_error")
    shown = "".join(traceback.format_exception(error)) + caplog.text
    assert SECRET not in shown
    assert error.__context__ is None and error.__cause__ is None


def test_a_forked_process_gets_its_own_http_pool(wechat):
    """Pooled sockets must not be shared with a child (gunicorn's preload forks)."""
    parent = wechat.http
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.write(write, b"new" if wechat.http is not parent else b"shared")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 10) == b"new"
    assert wechat.http is parent


@pytest.fixture
def fake_wechat():
    """An upstream answering whatever body the test sets, to play a broken WeChat.

    Python's own HTTP/1.1 server, since werkzeug's closes every connection.
    """
    answer = {"body": b"", "client_ports": []}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            answer["client_ports"].append(self.client_address[1])
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(answer["body"])))
            self.end_headers()
            self.wfile.write(answer["body"])

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    answer["client"] = WeChatClient({APPID: SECRET}, url, timeout=WX_TIMEOUT, backoff=0)
    yield answer
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "body",
    [
        b'{"errcode": Infinity, "errmsg": "x"}',
        b'{"errcode": "busy"}',
        b"[" * 100000 + b"]" * 100000,
        b'["openid", "session_key"]',
        b'{"openid": "o1"}',
        b'{"openid": 5, "session_key": "k"}',
        b"",
    ],
)
def test_broken_replies_are_upstream_errors(fake_wechat, body):
    fake_wechat["body"] = body
    with pytest.raises(WeChatError) as raised:
        fake_wechat["client"].code2session("any", APPID)
    assert (raised.value.status, raised.value.slug) == (502, "upstream_error")


def test_success_without_errcode_or_with_errcode_0(fake_wechat):
    for body in (b'{"openid": "o1", "session_key": "k"}', b'{"errcode": 0, "openid": "o1", "session_key": "k"}'):
        fake_wechat["body"] = body
        assert fake_wechat["client"].code2session("any", APPID).openid == "o1"


def test_calls_reuse_one_kept_alive_connection(fake_wechat):
    fake_wechat["body"] = b'{"openid": "o1", "session_key": "k"}'
    for _ in range(3):
        fake_wechat["client"].code2session("any", APPID)
    assert len(set(fake_wechat["client_ports"])) == 1


def test_a_proxy_from_the_environment_is_used(fake_wechat, monkeypatch):
    """HTTP(S)_PROXY is honoured as requests honoured it: the call goes through the proxy
    (here the fake WeChat itself, answering the proxied request)."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", fake_wechat["client"].base_url)
    fake_wechat["body"] = b'{"openid": "o1", "session_key": "k"}'
    client = WeChatClient({APPID: SECRET}, "http://wechat.invalid", timeout=WX_TIMEOUT, backoff=0)
    assert client.code2session("any", APPID).openid == "o1"
