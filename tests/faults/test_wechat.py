"""WeChat that trickles its answer a byte at a time, or accepts and never answers:
WX_TIMEOUT bounds the whole call, and the login answers 504 upstream_timeout within
WX_TIMEOUT + 1 s; other requests are served meanwhile."""

import threading
import time

import pytest

from .conftest import log_problems
from .fake_wechat import SilentWeChat, TricklingWeChat
from .load import call, code
from .report import Report

pytestmark = pytest.mark.faults

WX_TIMEOUT = 1
BOUND = WX_TIMEOUT + 1 + 0.5  # the contract's WX_TIMEOUT + 1 s, and slack for a busy machine


@pytest.mark.parametrize("kind", ["trickling", "silent"])
def test_a_stalling_wechat_times_out_the_login(kind, make_service):
    wechat = TricklingWeChat(interval=0.5) if kind == "trickling" else SilentWeChat()
    try:
        service = make_service(workers=2, wx=wechat.url, WX_TIMEOUT=str(WX_TIMEOUT))
        report = Report(f"wechat {kind}")
        report.fault()
        answers = [None] * 8
        threads = [threading.Thread(target=lambda i=i: answers.__setitem__(
            i, report.add("login", call(service.url, "POST", "/wx/login", {"code": code(f"wx-{kind}{i}")}))))
            for i in range(len(answers))]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        health = report.add("healthz", call(service.url, "GET", "/healthz"))  # served meanwhile
        for thread in threads:
            thread.join(30)
        report.ended()
        report.notes["wechat_connections"] = wechat.accepted
        report.finish()
    finally:
        wechat.close()
    problems = {
        "logins not 504 upstream_timeout": [(a, a and a.body) for a in answers if a is None or (a.status, a.slug) != (504, "upstream_timeout")],
        f"logins slower than {BOUND}s": [a for a in answers if a is not None and a.seconds > BOUND],
        "healthz not served at once meanwhile": None if health.status == 200 and health.seconds < 1 else (health, health.body),
        "the fake WeChat was never called": wechat.accepted == 0,
        "log lines with secrets or tracebacks": log_problems(service)[:5],
    }
    assert not {k: v for k, v in problems.items() if v}
