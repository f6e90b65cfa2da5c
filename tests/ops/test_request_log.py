"""One structured log line per request, and the X-Request-ID that ties it together."""

import json
import logging
import sys

import pytest

from wxlogin.ops.logs import JsonLogFormatter, RequestIdFilter


def request_lines(caplog):
    return [r for r in caplog.records if r.name == "wxlogin.request"]


def test_a_sane_request_id_is_echoed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-1234.abc:7"})
    assert response.headers["X-Request-ID"] == "lb-1234.abc:7"


@pytest.mark.parametrize("sent", [None, "", "has space", "x" * 129, "tab\there", "\u4f60\u597d"])
def test_otherwise_a_new_one_is_made(client, sent):
    headers = {"X-Request-ID": sent} if sent is not None else {}
    request_id = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    assert request_id != sent and len(request_id) == 32 and int(request_id, 16) >= 0


def test_each_request_logs_one_line_with_route_status_and_user(client, login, caplog):
    tokens = login("logan")
    caplog.set_level(logging.INFO, logger="wxlogin.request")
    response = client.get("/wx/me", headers={"Authentication": tokens["access_token"]})
    (line,) = request_lines(caplog)
    assert (line.method, line.route, line.status) == ("GET", "/wx/me", 200)
    assert line.user_id == tokens["user"]["id"]
    assert line.request_id == response.headers["X-Request-ID"]
    assert 0 < line.duration_ms < 10_000


def test_the_line_names_the_route_template_never_the_path(client, auth, caplog):
    headers = auth()
    caplog.set_level(logging.INFO, logger="wxlogin.request")
    client.get("/wx/notes/12345", headers=headers)
    client.get("/no/such/thing?secret=abc")
    routes = [(line.route, line.status) for line in request_lines(caplog)]
    assert routes == [("/wx/notes/<int:note_id>", 404), ("unmatched", 404)]


def test_a_login_line_names_the_user_and_holds_no_token(client, caplog):
    caplog.set_level(logging.INFO, logger="wxlogin.request")
    body = client.post("/wx/login", json={"code": "sim:lena:1"}).get_json()
    (line,) = request_lines(caplog)
    rendered = JsonLogFormatter().format(line)
    assert json.loads(rendered)["user_id"] == body["user"]["id"]
    assert body["access_token"] not in rendered and body["refresh_token"] not in rendered


def test_records_logged_during_a_request_carry_its_id(app, caplog):
    """Any record (here the WeChat client's warning), not only the request line."""
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestIdFilter())
    client = app.test_client()
    client.post("/wx/login", json={"code": "sim-fail:-1"}, headers={"X-Request-ID": "req-42"})
    warnings = [r for r in caplog.records if r.name == "wxlogin.wechat.client"]
    assert warnings and {r.request_id for r in warnings} == {"req-42"}


def test_json_lines_have_the_fields_and_a_utc_time():
    record = logging.LogRecord("wxlogin.accounts.login", logging.WARNING, __file__, 1, "odd %s", ("thing",), None)
    RequestIdFilter().filter(record)
    line = json.loads(JsonLogFormatter().format(record))
    assert (line["level"], line["logger"], line["message"], line["request_id"]) == (
        "WARNING", "wxlogin.accounts.login", "odd thing", None)
    assert line["time"].endswith("+00:00")


def test_tracebacks_in_json_lines_are_redacted():
    try:
        raise RuntimeError("GET https://api.weixin.qq.com/x?secret=TOPSECRETVALUE&js_code=abc failed")
    except RuntimeError:
        record = logging.getLogger("wxlogin.x").makeRecord(
            "wxlogin.x", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    rendered = JsonLogFormatter().format(record)
    assert "TOPSECRETVALUE" not in rendered and "[redacted]" in json.loads(rendered)["exc_info"]


def test_a_made_up_method_is_counted_as_other(client, caplog):
    caplog.set_level(logging.INFO, logger="wxlogin.request")
    client.open("/healthz", method="BREW")
    (line,) = request_lines(caplog)
    assert line.method == "other"


def test_records_of_teardowns_carry_the_request_id_and_later_ones_none(app, caplog):
    @app.teardown_request
    def log_it(_exc):
        logging.getLogger("wxlogin.test").warning("tearing down")

    caplog.set_level(logging.WARNING, logger="wxlogin.test")
    caplog.handler.addFilter(RequestIdFilter())
    app.test_client().get("/healthz", headers={"X-Request-ID": "req-7"})
    logging.getLogger("wxlogin.test").warning("after")
    ids = {r.getMessage(): r.request_id for r in caplog.records if r.name == "wxlogin.test"}
    assert ids == {"tearing down": "req-7", "after": None}
