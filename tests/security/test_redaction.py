"""No secret, session key or token reaches a log line, whoever logs it."""

import logging

from ..conftest import SECRET

log = logging.getLogger("some.library")


def test_log_lines_are_redacted_as_they_are_made(app, login, caplog):
    tokens = login()
    caplog.set_level(logging.DEBUG)
    log.warning("calling https://api/x?appid=wx1&secret=%s&js_code=abc", SECRET)
    log.info("got %s", {"session_key": "c2Vzc2lvbmtleXNlc3Npb24=", "openid": "o1"})
    log.error("token was %s", tokens["access_token"])
    log.debug("Authentication: Bearer " + tokens["refresh_token"])
    log.info("raw configured secret: " + SECRET)
    text = caplog.text
    for secret in (SECRET, "abc", "c2Vzc2lvbmtleXNlc3Npb24=", tokens["access_token"], tokens["refresh_token"]):
        assert secret not in text
    assert "openid': 'o1'" in text  # the rest of the line is kept


def test_tracebacks_are_redacted(app, caplog):
    try:
        raise RuntimeError(f"connect failed for /sns/jscode2session?secret={SECRET}")
    except RuntimeError:
        log.exception("WeChat call failed")
    assert SECRET not in caplog.text
    assert "WeChat call failed" in caplog.text


def test_requests_logs_of_the_wechat_call_are_redacted(client, caplog):
    caplog.set_level(logging.DEBUG)
    client.post("/wx/login", json={"code": "sim:alice:redaction"})
    assert "jscode2session" in caplog.text  # urllib3 did log the request line
    assert SECRET not in caplog.text
