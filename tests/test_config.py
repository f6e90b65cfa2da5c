"""Configuration modes: production refuses to start without secrets; development needs nothing."""

from pathlib import Path

import pytest
import redis.sentinel
import requests

from wxlogin import create_app
from wxlogin.config import (
    SIMULATOR_APPID,
    ConfigError,
    from_environ,
    normalize_database_url,
    parse_apps,
)

from .conftest import LiveServer

# Reads none of TEST_DATABASE_URL, TEST_REDIS_URL, TEST_JWT_ALGORITHM (tests/conftest.py).
pytestmark = pytest.mark.once

PRODUCTION = {"WX_APPID": "wxprod", "WX_SECRET": "s3cret", "JWT_SECRET_KEY": "k" * 32}


@pytest.mark.parametrize(
    "unset, message",
    [
        ({"JWT_SECRET_KEY"}, r"JWT_PRIVATE_KEY \(ES256\) or JWT_SECRET_KEY \(HS256\) is not set"),
        ({"WX_APPID", "WX_SECRET"}, "WX_APPID and WX_SECRET are not set"),
        ({"WX_APPID"}, "WX_APPID is not set, but WX_SECRET is"),
        ({"WX_SECRET"}, "WX_SECRET is not set, but WX_APPID is"),
    ],
)
def test_production_refuses_to_start_without_secrets(environ, tmp_path, unset, message):
    for name, value in PRODUCTION.items():
        if name not in unset:
            environ.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        create_app(instance_path=str(tmp_path))


def test_development_starts_without_secrets(environ, tmp_path):
    environ.setenv("FLASK_DEBUG", "1")
    assert create_app(instance_path=str(tmp_path)).config["WX_SIMULATOR_EMBEDDED"]


def test_production_refuses_a_short_signing_key(environ, tmp_path):
    for name, value in {**PRODUCTION, "JWT_SECRET_KEY": "short"}.items():
        environ.setenv(name, value)
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY is too short"):
        create_app(instance_path=str(tmp_path))


def test_production_starts_with_secrets_and_no_simulator(environ, tmp_path):
    for name, value in PRODUCTION.items():
        environ.setenv(name, value)
    environ.setenv("WX_TIMEOUT", "2.5")
    environ.setenv("JWT_ACCESS_TOKEN_EXPIRES", "60")
    app = create_app(instance_path=str(tmp_path))
    assert app.config["WX_APPS"] == {"wxprod": "s3cret"}
    assert app.extensions["wechat"].base_url == "https://api.weixin.qq.com"
    assert app.extensions["wechat"].timeout == 2.5
    assert app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds() == 60
    assert app.test_client().get("/_simulator/sns/jscode2session").status_code == 404


def test_a_configured_database_is_not_migrated_implicitly(environ, tmp_path):
    environ.setenv("FLASK_DEBUG", "1")
    create_app(instance_path=str(tmp_path))
    assert not Path(tmp_path, "app.sqlite").exists() or Path(tmp_path, "app.sqlite").stat().st_size == 0


@pytest.mark.parametrize("name, value", [("WX_TIMEOUT", "soon"), ("JWT_ACCESS_TOKEN_EXPIRES", "-5"),
                                         ("QR_LOGIN_TTL", "0"), ("QR_LOGIN_ENV_VERSION", "beta"),
                                         ("QR_LOGIN_RATE_LIMIT", "lots"), ("QR_LOGIN_PAGE", "pages/a?x=1")])
def test_bad_numbers_are_named(environ, tmp_path, name, value):
    environ.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        create_app(instance_path=str(tmp_path))


def test_the_web_login_settings_and_their_defaults():
    assert {k: v for k, v in from_environ({}).items() if k.startswith(("QR_", "CORS_"))} == {
        "QR_LOGIN_PAGE": "pages/qr-login/index", "QR_LOGIN_TTL": 120, "QR_LOGIN_RATE_LIMIT": "60/minute",
        "QR_LOGIN_ENV_VERSION": "release", "CORS_ORIGINS": [],
    }
    config = from_environ({"QR_LOGIN_PAGE": "/pages/web/login", "CORS_ORIGINS": "https://a.example, https://b.example"})
    assert config["QR_LOGIN_PAGE"] == "pages/web/login"  # WeChat wants no leading slash
    assert config["CORS_ORIGINS"] == ["https://a.example", "https://b.example"]


def test_apps_come_from_wx_appid_then_wx_apps():
    apps = parse_apps({"WX_APPID": "wxa", "WX_SECRET": "sa", "WX_APPS": " wxb:sb , wxc:sc "})
    assert list(apps.items()) == [("wxa", "sa"), ("wxb", "sb"), ("wxc", "sc")]
    with pytest.raises(ConfigError, match="WX_APPS"):
        parse_apps({"WX_APPS": "wxb"})


@pytest.mark.parametrize(
    "given, expected",
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("mysql://root@h/test", "mysql+pymysql://root@h/test?charset=utf8mb4"),
        ("mysql+pymysql://root@h/test?charset=utf8", "mysql+pymysql://root@h/test?charset=utf8"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_get_our_drivers(given, expected):
    assert normalize_database_url(given) == expected


def test_development_runs_with_nothing_configured(environ, tmp_path):
    """What ``flask --app wxlogin run --debug`` does with no variable set at all."""
    environ.delenv("DATABASE_URL")
    environ.setenv("FLASK_DEBUG", "1")
    environ.setenv("WX_TIMEOUT", "0.5")
    app = create_app(instance_path=str(tmp_path))
    assert app.debug
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/wxlogin.sqlite"
    key_file = Path(tmp_path, "dev-jwt-key.pem")  # ES256, as other services verify it
    assert app.config["JWT_PRIVATE_KEY"] == key_file.read_text() and app.config["JWT_ALGORITHM"] == "ES256"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert app.config["WX_APPS"] == {SIMULATOR_APPID: "simulator-secret"}
    # The app logs in through its own simulator, over HTTP, as curl would reach it.
    server = LiveServer(app)
    try:
        login = requests.post(f"{server.url}/wx/login", json={"code": "sim:alice"}, timeout=10)
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        again = requests.post(f"{server.url}/wx/login", json={"code": "sim:alice"}, timeout=10)
        assert (again.status_code, again.json()["error"]) == (401, "code_used")
        me = requests.get(f"{server.url}/wx/me", headers={"Authentication": token}, timeout=10)
        assert me.json()["id"] == login.json()["user"]["id"]
        # The simulator is reached in-process: no Host header can send the login elsewhere.
        elsewhere = requests.post(
            f"{server.url}/wx/login", json={"code": "sim:bob"}, headers={"Host": "127.0.0.1:9"}, timeout=10
        )
        assert elsewhere.status_code == 200, elsewhere.text
        timeout = requests.post(f"{server.url}/wx/login", json={"code": "sim-fail:timeout"}, timeout=10)
        assert (timeout.status_code, timeout.json()["error"]) == (504, "upstream_timeout")
        # and it is served over HTTP too, for curl
        direct = requests.get(
            f"{server.url}/_simulator/sns/jscode2session",
            params={"appid": SIMULATOR_APPID, "secret": "simulator-secret", "js_code": "sim:carol",
                    "grant_type": "authorization_code"},
            timeout=10,
        )
        assert direct.headers["Content-Type"].startswith("text/plain") and "openid" in direct.json()
    finally:
        server.stop()


def test_redis_url_may_name_a_sentinel_set(environ):
    """``redis+sentinel://`` gives a client of the set's master, and Flask-Limiter the same
    set (it reads the same form); a malformed one is refused at start, naming the form."""
    environ.setenv("REDIS_URL", "redis+sentinel://127.0.0.1:26379,127.0.0.2:26380/wxlogin")
    app = create_app({"TESTING": True})
    client = app.extensions["redis"]
    assert isinstance(client.connection_pool, redis.sentinel.SentinelConnectionPool)
    assert client.connection_pool.service_name == "wxlogin"
    assert app.config["RATELIMIT_STORAGE_OPTIONS"]["use_replicas"] is False
    environ.setenv("REDIS_URL", "redis+sentinel://127.0.0.1/wxlogin")
    with pytest.raises(ConfigError, match="redis\\+sentinel://host:26379"):
        create_app({"TESTING": True})
