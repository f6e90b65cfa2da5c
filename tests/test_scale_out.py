"""Two app instances (two gunicorn processes, as on two hosts) sharing one database, and
Redis when TEST_REDIS_URL is given: they agree on tokens at once, and a web login made on
one is seen by the other."""

import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime

import jwt
import pytest
import redis
import requests
import sqlalchemy as sa

from wxlogin.config import normalize_database_url

from .conftest import REDIS_URL
from .processes import flask, production_env, start_gunicorn, start_simulator, stop

codes = itertools.count()


@contextmanager
def two_instances(database_url, cwd, workers, **settings):
    """The simulator and two gunicorn instances (as on two hosts) on one database and Redis."""
    env = production_env(database_url, REDIS_URL, **settings)
    flask(env, "db", "upgrade", cwd=cwd)
    simulator, _ = start_simulator(env, cwd)
    one, url_one = start_gunicorn(env, workers=workers)
    two, url_two = start_gunicorn(env, workers=workers)
    try:
        yield url_one, url_two, env
    finally:
        stop(one, two, simulator)


@pytest.fixture(scope="module")
def instances(database_url, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("hosts")
    limits_off = {"LOGIN_RATE_LIMIT": "off", "LOGIN_RATE_LIMIT_PER_USER": "off"}
    with two_instances(database_url, cwd, workers=1, **limits_off) as (one, two, env):
        yield one, two, env, cwd


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


def test_a_profile_change_on_one_is_served_by_the_other_at_once(instances):
    one, two, *_ = instances
    token = login(one, "paula")["access_token"]
    assert call(two, "/wx/me", token).json()["nickname"] is None  # two has seen paula now
    changed = requests.patch(f"{one}/wx/me", json={"nickname": "Paula"}, headers={"Authentication": token}, timeout=10)
    assert changed.status_code == 200
    assert call(two, "/wx/me", token).json()["nickname"] == "Paula"


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


def test_a_burst_of_phone_calls_on_both_instances_fetches_one_access_token(instances, database_url):
    """50 concurrent /wx/phone calls, half on each instance, with the shared access token
    expired: exactly one stable_token call reaches WeChat."""
    one, two, env, _ = instances
    token = login(one, "phoebe")["access_token"]
    assert call_phone(one, token).status_code == 200  # an access token exists now...
    engine = sa.create_engine(normalize_database_url(database_url))
    with engine.begin() as connection:  # ...and has expired
        connection.execute(sa.text("UPDATE access_tokens SET expires_at = :past"), {"past": datetime(2000, 1, 1)})
    engine.dispose()
    simulator_calls = f"{env['WX_API_BASE']}/simulator/calls"
    before = requests.get(simulator_calls, timeout=5).json().get("stable_token", 0)
    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(lambda i: call_phone((one, two)[i % 2], token).status_code, range(50)))
    assert statuses == [200] * 50
    assert requests.get(simulator_calls, timeout=5).json()["stable_token"] == before + 1


def test_a_web_login_polled_on_one_is_scanned_and_confirmed_on_the_other(instances):
    """The browser's poll waits on one instance; the phone scans and confirms on the other
    (API.md: a change on any host wakes a waiting poll within a second)."""
    one, two, *_ = instances
    code = requests.post(f"{one}/wx/qr-login", timeout=10).json()
    phone = login(two, "quinn")["access_token"]
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(requests.get, f"{one}/wx/qr-login/{code['ticket']}?wait=20", timeout=30)
        time.sleep(0.5)  # the poll is waiting
        scan = requests.post(f"{two}/wx/qr-login/scan", json={"scene": code["scene"]},
                             headers={"Authentication": phone}, timeout=10)
        scanned = time.monotonic()
        assert scan.status_code == 200, scan.text
        assert waiting.result().json() == {"status": "scanned"}
        assert time.monotonic() - scanned < 2  # within a second, with room for a loaded machine
        waiting = pool.submit(requests.get, f"{one}/wx/qr-login/{code['ticket']}?wait=20", timeout=30)
        time.sleep(0.5)
        confirm = requests.post(f"{two}/wx/qr-login/confirm", json={"scene": code["scene"]},
                                headers={"Authentication": phone}, timeout=10)
        confirmed = time.monotonic()
        assert confirm.status_code == 200, confirm.text
        web = waiting.result().json()
        assert time.monotonic() - confirmed < 2
    assert web["status"] == "confirmed"
    assert call(two, "/wx/me", web["access_token"]).json()["id"] == web["user"]["id"]
    assert requests.get(f"{two}/wx/qr-login/{code['ticket']}", timeout=10).json() == {"status": "used"}


def call_phone(url, token):
    return requests.post(f"{url}/wx/phone", json={"code": f"sim-phone:138{next(codes):08d}"},
                         headers={"Authentication": token}, timeout=30)


@pytest.fixture(scope="module")
def limited_instances(database_url, tmp_path_factory):
    """Two instances of two workers each, with a per-IP login limit of 6 a minute."""
    if not REDIS_URL:
        pytest.skip("needs TEST_REDIS_URL: without Redis each process counts alone (API.md)")
    redis.Redis.from_url(REDIS_URL).flushdb()  # no counts left from an earlier run
    cwd = tmp_path_factory.mktemp("limited")
    limits = {"LOGIN_RATE_LIMIT": "6/minute", "LOGIN_RATE_LIMIT_PER_USER": "off"}
    with two_instances(database_url, cwd, workers=2, **limits) as (one, two, _env):
        yield one, two


def test_the_login_rate_limit_is_shared_by_every_instance_and_worker(limited_instances):
    one, two = limited_instances
    statuses = [
        requests.post(f"{url}/wx/login", json={"code": f"sim:rita:{next(codes)}"}, timeout=10).status_code
        for url in (one, two) * 4
    ]
    assert statuses == [200] * 6 + [429, 429]
