"""POST /wx/qr-login: a code for the browser, its secrets, its image from WeChat."""

import hashlib
import logging
import re
from datetime import timedelta

import requests
import sqlalchemy as sa

from wxlogin.extensions import db
from wxlogin.models import QrLogin, utcnow

from ..conftest import APPID, OTHER_APPID, read_qr_code
from .conftest import BROWSER, code_row, error

URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


def test_a_code_has_a_secret_ticket_and_an_unguessable_scene(client, app, new_code):
    code = new_code()
    assert set(code) == {"ticket", "scene", "qr_code", "expires_in", "poll_interval"}
    assert (code["expires_in"], code["poll_interval"]) == (120, 1)
    assert len(code["ticket"]) == 43 and URL_SAFE.fullmatch(code["ticket"])  # 256 bits
    assert len(code["scene"]) == 32 and URL_SAFE.fullmatch(code["scene"])  # 192 bits, WeChat's limit
    assert new_code()["scene"] != code["scene"]
    row = code_row(app, code["scene"])
    # Only the ticket's hash is stored: a copy of the table cannot collect a login.
    assert row.ticket_hash == hashlib.sha256(code["ticket"].encode()).hexdigest()
    with app.app_context():
        dump = [str(value) for row in db.session.execute(sa.select(QrLogin.__table__)) for value in row]
    assert not any(code["ticket"] in value for value in dump)
    assert (row.status, row.appid, row.requester_agent) == ("pending", APPID, BROWSER)
    assert timedelta(seconds=119) < row.expires_at - row.created_at <= timedelta(seconds=120)


def test_the_image_is_wechats_code_opening_the_login_page_with_the_scene(new_code):
    code = new_code()
    assert read_qr_code(code["qr_code"]) == {
        "appid": APPID, "page": "pages/qr-login/index", "scene": code["scene"], "env_version": "release",
    }
    assert code["ticket"] not in code["qr_code"]


def test_the_page_and_version_are_configured(make_app):
    client = make_app(QR_LOGIN_PAGE="pages/web-login/main", QR_LOGIN_ENV_VERSION="develop").test_client()
    code = client.post("/wx/qr-login").get_json()
    shown = read_qr_code(code["qr_code"])
    assert (shown["page"], shown["env_version"]) == ("pages/web-login/main", "develop")


def test_another_configured_mini_program_may_be_named(client, new_code):
    assert read_qr_code(new_code(appid=OTHER_APPID)["qr_code"])["appid"] == OTHER_APPID
    unknown = client.post("/wx/qr-login", json={"appid": "wxunknown"})
    assert error(unknown) == (400, "invalid_request")
    assert unknown.get_json()["details"] == {"appid": ["Unknown appid."]}


def test_the_body_is_optional_and_checked(client):
    assert client.post("/wx/qr-login").status_code == 201
    assert client.post("/wx/qr-login", json={}).status_code == 201
    assert error(client.post("/wx/qr-login", json={"appid": 7})) == (422, "invalid_request")
    assert error(client.post("/wx/qr-login", json={"scene": "mine"})) == (422, "invalid_request")


def test_codes_share_the_cached_access_token(new_code, simulator):
    new_code()
    before = simulator.calls["stable_token"], simulator.calls["getwxacodeunlimit"]
    for _ in range(3):
        new_code()
    assert (simulator.calls["stable_token"], simulator.calls["getwxacodeunlimit"]) == (before[0], before[1] + 3)


def test_wechat_failures_are_the_error_tables_and_store_nothing(client, app, simulator, caplog):
    for failure, expected in ((-1, (503, "upstream_unavailable")), ("timeout", (504, "upstream_timeout")),
                              ("nonjson", (502, "upstream_error")), (40169, (502, "upstream_error"))):
        times = 3 if failure == -1 else 1  # busy is retried twice
        requests.post(f"{simulator.url}/simulator/fail", json={"api": "getwxacodeunlimit", "errcode": failure,
                                                               "times": times}, timeout=5)
        assert error(client.post("/wx/qr-login")) == expected, failure
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(QrLogin)) == 0


def test_wechats_quota_for_codes_is_429(client, simulator):
    requests.post(f"{simulator.url}/simulator/fail", json={"api": "getwxacodeunlimit", "errcode": 45009}, timeout=5)
    response = client.post("/wx/qr-login")
    assert error(response) == (429, "rate_limited") and response.headers["Retry-After"] == "60"


def test_a_page_wechat_does_not_know_is_explained_in_the_log(client, simulator, caplog):
    requests.post(f"{simulator.url}/simulator/fail", json={"api": "getwxacodeunlimit", "errcode": 41030}, timeout=5)
    with caplog.at_level(logging.ERROR):
        assert error(client.post("/wx/qr-login")) == (502, "upstream_error")
    assert "QR_LOGIN_ENV_VERSION" in caplog.text and "pages/qr-login/index" in caplog.text


def test_a_refused_access_token_is_replaced_once(client, simulator, new_code):
    new_code()  # the token is now cached
    requests.post(f"{simulator.url}/simulator/fail", json={"api": "getwxacodeunlimit", "errcode": 40001}, timeout=5)
    assert client.post("/wx/qr-login").status_code == 201


def test_creation_is_limited_per_client_ip(make_app):
    client = make_app(QR_LOGIN_RATE_LIMIT="2/minute").test_client()
    assert [client.post("/wx/qr-login").status_code for _ in range(2)] == [201, 201]
    limited = client.post("/wx/qr-login")
    assert error(limited) == (429, "rate_limited")
    assert 0 < int(limited.headers["Retry-After"]) <= 61
    other = client.post("/wx/qr-login", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 201


def test_the_answer_is_not_cached(client):
    assert client.post("/wx/qr-login").headers["Cache-Control"] == "no-store"


def test_codes_long_expired_are_purged(client, app, new_code):
    old = new_code()
    with app.app_context():
        db.session.execute(sa.update(QrLogin).values(expires_at=utcnow() - timedelta(days=2)))
        db.session.commit()
    from wxlogin.qr_login import codes

    codes._purge_due._last = float("-inf")  # due now
    fresh = new_code()
    assert code_row(app, old["scene"]) is None
    assert code_row(app, fresh["scene"]) is not None
