"""Login rate limits: per client IP and per WeChat user, 429 rate_limited with Retry-After."""

import pytest

from wxlogin import create_app
from wxlogin.config import ConfigError, from_environ

from ..conftest import app_config, empty_stores, fresh_code


@pytest.fixture
def limited(database_url, simulator, tmp_path):
    """An app with the limits a test names (``off`` for the other one)."""

    def make(**limits):
        config = app_config(database_url, simulator.url, **{
            "LOGIN_RATE_LIMIT": "off", "LOGIN_RATE_LIMIT_PER_USER": "off", **limits,
        })
        app = create_app(config, instance_path=str(tmp_path))
        empty_stores(app)
        return app

    return make


def login(client, name, **kwargs):
    return client.post("/wx/login", json={"code": fresh_code(name)}, **kwargs)


def assert_limited(response):
    assert response.status_code == 429
    assert response.get_json()["error"] == "rate_limited"
    assert 0 < int(response.headers["Retry-After"]) <= 61  # a minute window, whole seconds up


def test_per_ip(limited):
    client = limited(LOGIN_RATE_LIMIT="3/minute").test_client()
    assert [login(client, f"u{i}").status_code for i in range(3)] == [200] * 3
    assert_limited(login(client, "u4"))
    # another client address has its own budget
    other = login(client, "u5", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200


def test_x_forwarded_for_is_ignored_unless_a_proxy_is_trusted(limited):
    client = limited(LOGIN_RATE_LIMIT="1/minute").test_client()
    assert login(client, "a", headers={"X-Forwarded-For": "1.1.1.1"}).status_code == 200
    assert_limited(login(client, "b", headers={"X-Forwarded-For": "2.2.2.2"}))


def test_x_forwarded_for_counts_behind_a_trusted_proxy(limited):
    client = limited(LOGIN_RATE_LIMIT="1/minute", TRUSTED_PROXY_COUNT=1).test_client()
    assert login(client, "a", headers={"X-Forwarded-For": "1.1.1.1"}).status_code == 200
    assert login(client, "b", headers={"X-Forwarded-For": "2.2.2.2"}).status_code == 200
    assert_limited(login(client, "c", headers={"X-Forwarded-For": "1.1.1.1"}))


def test_per_wechat_user(limited):
    client = limited(LOGIN_RATE_LIMIT_PER_USER="2/minute").test_client()
    assert [login(client, "alice").status_code for _ in range(2)] == [200, 200]
    assert_limited(login(client, "alice"))
    assert login(client, "bob").status_code == 200


def test_every_per_user_limit_counts(limited):
    client = limited(LOGIN_RATE_LIMIT_PER_USER="5/minute;2/hour").test_client()
    assert [login(client, "alice").status_code for _ in range(2)] == [200, 200]
    response = login(client, "alice")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 60


def test_ipv6_clients_are_counted_per_64_block(limited):
    client = limited(LOGIN_RATE_LIMIT="1/minute").test_client()
    assert login(client, "a", environ_base={"REMOTE_ADDR": "2001:db8:1:2::1"}).status_code == 200
    assert_limited(login(client, "b", environ_base={"REMOTE_ADDR": "2001:db8:1:2::ffff"}))
    other_block = login(client, "c", environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"})
    assert other_block.status_code == 200


def test_off_means_off(limited, caplog):
    client = limited().test_client()
    assert {login(client, "alice").status_code for _ in range(40)} == {200}
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


def test_defaults_are_generous(monkeypatch):
    monkeypatch.delenv("LOGIN_RATE_LIMIT", raising=False)
    monkeypatch.delenv("LOGIN_RATE_LIMIT_PER_USER", raising=False)
    config = from_environ({})
    assert (config["LOGIN_RATE_LIMIT"], config["LOGIN_RATE_LIMIT_PER_USER"]) == ("600/minute", "30/minute")


@pytest.mark.parametrize("name", ["LOGIN_RATE_LIMIT", "LOGIN_RATE_LIMIT_PER_USER"])
def test_a_malformed_limit_is_refused_at_start(name):
    with pytest.raises(ConfigError, match=name):
        from_environ({name: "lots"})
