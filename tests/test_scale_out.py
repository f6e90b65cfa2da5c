"""Two app instances (two gunicorn processes, as on two hosts) sharing one database, and
Redis when TEST_REDIS_URL is given: they agree on tokens at once."""

import itertools

import jwt
import pytest
import redis
import requests

from .conftest import REDIS_URL
from .processes import flask, production_env, start_gunicorn, start_simulator, stop

codes = itertools.count()


@pytest.fixture(scope="module")
def instances(database_url, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("hosts")
    env = production_env(database_url, REDIS_URL, LOGIN_RATE_LIMIT="off", LOGIN_RATE_LIMIT_PER_USER="off")
    flask(env, "db", "upgrade", cwd=cwd)
    simulator, _ = start_simulator(env, cwd)
    one, url_one = start_gunicorn(env, workers=1)
    two, url_two = start_gunicorn(env, workers=1)
    try:
        yield url_one, url_two, env, cwd
    finally:
        stop(one, two, simulator)


def login(url, name="alice"):
    response = requests.post(f"{url}/wx/login", json={"code": f"sim:{name}:{next(codes)}"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def call(url, path, token, method="GET"):
    return requests.request(method, f"{url}{path}", headers={"Authentication": token}, timeout=10)


def error(response):
    return response.status_code, response.json().get("error")


def test_a_token_of_one_instance_works_on_the_other(instances):
    one, two, *_ = instances
    tokens = login(one)
    assert call(two, "/wx/me", tokens["access_token"]).status_code == 200


def test_logout_on_one_is_refused_on_the_other_at_once(instances):
    one, two, *_ = instances
    tokens = login(one)
    assert call(two, "/wx/me", tokens["access_token"]).status_code == 200
    assert call(one, "/wx/logout", tokens["access_token"], "POST").status_code == 200
    assert error(call(two, "/wx/me", tokens["access_token"])) == (401, "token_revoked")
    assert error(call(two, "/wx/refresh", tokens["refresh_token"], "POST")) == (401, "token_revoked")
    if REDIS_URL:  # and the revocation really lives in Redis
        sid = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sid"]
        assert redis.Redis.from_url(REDIS_URL).exists(f"wxlogin:revoked:sid:{sid}")


def test_a_refresh_token_replayed_on_the_other_instance_ends_the_session(instances):
    one, two, *_ = instances
    first = login(one)
    second = call(one, "/wx/refresh", first["refresh_token"], "POST").json()
    assert error(call(two, "/wx/refresh", first["refresh_token"], "POST")) == (401, "token_revoked")
    assert error(call(one, "/wx/me", second["access_token"])) == (401, "token_revoked")


def test_disabling_a_user_stops_their_tokens_on_every_instance(instances):
    one, two, env, cwd = instances
    tokens = login(one, "eve")
    flask(env, "users", "disable", tokens["user"]["openid"], cwd=cwd)
    for url in (one, two):
        assert error(call(url, "/wx/me", tokens["access_token"])) == (403, "user_disabled")
    flask(env, "users", "enable", tokens["user"]["openid"], cwd=cwd)
    assert error(call(two, "/wx/me", tokens["access_token"])) == (401, "token_revoked")
    assert call(two, "/wx/me", login(one, "eve")["access_token"]).status_code == 200
