"""No secret, session key or token reaches a log line, whoever logs it."""

import logging

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from wxlogin import create_app

from ..conftest import INTROSPECTION_CLIENTS, SECRET, app_config

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


def test_web_login_tickets_are_redacted(app, caplog):
    """A ticket is in the path of the browser's polls, which the development server's
    access log (werkzeug) and error lines print."""
    ticket = app.test_client().post("/wx/qr-login").get_json()["ticket"]
    log.warning('127.0.0.1 - - "GET /wx/qr-login/%s?wait=25 HTTP/1.1" 200 -', ticket)
    assert ticket not in caplog.text
    assert "/wx/qr-login/[redacted]?wait=25" in caplog.text


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


def test_signing_and_client_secrets_are_redacted(database_url, simulator, tmp_path, caplog):
    """The ES256 key, whole or a line of it, as written in the environment (SEC1 here, one
    line with \\n) and as normalized; and the introspection clients' secrets."""
    sec1 = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    written = sec1.strip().replace("\n", "\\n")
    app = create_app(app_config(database_url, simulator.url, JWT_PRIVATE_KEY=written), instance_path=str(tmp_path))
    normalized = app.config["JWT_PRIVATE_KEY"]
    log.error("key %s / %s / line %s", written, normalized, sec1.splitlines()[1])
    log.error("client secret %s", INTROSPECTION_CLIENTS["orders"])
    for secret in (written, normalized, sec1.splitlines()[1], normalized.splitlines()[1], INTROSPECTION_CLIENTS["orders"]):
        assert secret not in caplog.text
