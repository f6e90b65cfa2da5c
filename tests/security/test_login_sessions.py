"""POST /wx/refresh and /wx/logout: rotation, theft detection, revocation."""

import threading
import time
from datetime import timedelta

import jwt as pyjwt
import pytest
import redis
import sqlalchemy as sa

from wxlogin import create_app
from wxlogin.extensions import db
from wxlogin.models import RevokedToken, utcnow

from ..conftest import REDIS_URL, app_config, free_port, fresh_code


def refresh(client, token):
    return client.post("/wx/refresh", headers={"Authentication": token})


def me(client, token):
    return client.get("/wx/me", headers={"Authentication": token})


def slug(response):
    return response.status_code, response.get_json()["error"]


def test_refresh_rotates_both_tokens(client, login):
    first = login()
    response = refresh(client, first["refresh_token"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    second = response.get_json()
    assert set(second) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert second["refresh_token"] != first["refresh_token"]
    assert me(client, second["access_token"]).status_code == 200
    # the same login session, new token ids
    old, new = (pyjwt.decode(t, options={"verify_signature": False})
                for t in (first["refresh_token"], second["refresh_token"]))
    assert old["sid"] == new["sid"] and old["jti"] != new["jti"]


def test_a_spent_refresh_token_is_refused_and_revokes_its_session(client, login):
    first = login()
    second = refresh(client, first["refresh_token"]).get_json()
    # Someone replays the first refresh token: refused, and the whole session ends.
    assert slug(refresh(client, first["refresh_token"])) == (401, "token_revoked")
    assert slug(refresh(client, second["refresh_token"])) == (401, "token_revoked")
    assert slug(me(client, second["access_token"])) == (401, "token_revoked")
    assert slug(me(client, first["access_token"])) == (401, "token_revoked")


def test_other_sessions_survive_a_theft(client, login):
    stolen, other = login("alice"), login("alice")
    refresh(client, stolen["refresh_token"])
    refresh(client, stolen["refresh_token"])
    assert me(client, other["access_token"]).status_code == 200


def test_concurrent_refreshes_with_one_token_count_as_theft(app, login):
    """One wins the race, the rest are replays: the session ends, the winner's pair too.
    (Clients refresh one at a time; the README says so.)"""
    token = login()["refresh_token"]
    barrier = threading.Barrier(10)
    statuses, winners = [], []

    def use():
        client = app.test_client()
        barrier.wait()
        response = refresh(client, token)
        statuses.append(response.status_code)
        if response.status_code == 200:
            winners.append(response.get_json()["access_token"])

    threads = [threading.Thread(target=use) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [401] * 9
    assert slug(me(app.test_client(), winners[0])) == (401, "token_revoked")


def test_tokens_are_not_interchangeable(client, login):
    tokens = login()
    assert slug(refresh(client, tokens["access_token"])) == (401, "token_invalid")
    assert slug(me(client, tokens["refresh_token"])) == (401, "token_invalid")
    logout = client.post("/wx/logout", headers={"Authentication": tokens["refresh_token"]})
    assert slug(logout) == (401, "token_invalid")


def test_refresh_needs_a_token(client):
    assert slug(client.post("/wx/refresh")) == (401, "token_missing")


def test_logout_revokes_the_access_and_refresh_token_of_the_session(client, login):
    session, other = login("alice"), login("alice")
    response = client.post("/wx/logout", headers={"Authentication": session["access_token"]})
    assert (response.status_code, response.get_json()) == (200, {"revoked": True})
    assert slug(me(client, session["access_token"])) == (401, "token_revoked")
    assert slug(refresh(client, session["refresh_token"])) == (401, "token_revoked")
    assert me(client, other["access_token"]).status_code == 200


def test_logout_all_ends_every_session_of_the_user(client, login):
    one, two, bob = login("alice"), login("alice"), login("bob")
    response = client.post("/wx/logout?all=true", headers={"Authentication": one["access_token"]})
    assert response.status_code == 200
    for tokens in (one, two):
        assert slug(me(client, tokens["access_token"])) == (401, "token_revoked")
        assert slug(refresh(client, tokens["refresh_token"])) == (401, "token_revoked")
    assert me(client, bob["access_token"]).status_code == 200
    assert me(client, login("alice")["access_token"]).status_code == 200  # a new login works


def test_a_spent_refresh_token_stays_refused_through_the_leeway(database_url, simulator, tmp_path, app):
    """Tokens are accepted up to JWT_DECODE_LEEWAY past exp: so must their revocation last,
    purges included. (``app`` only empties the stores first.)"""
    short = create_app(
        app_config(database_url, simulator.url, JWT_REFRESH_TOKEN_EXPIRES=timedelta(seconds=1)),
        instance_path=str(tmp_path),
    )
    client = short.test_client()
    first = client.post("/wx/login", json={"code": fresh_code("alice")}).get_json()
    assert refresh(client, first["refresh_token"]).status_code == 200
    exp = pyjwt.decode(first["refresh_token"], options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, exp - time.time()) + 0.1)  # expired, but inside the 30 s leeway
    short.test_cli_runner().invoke(args=["tokens", "purge"])
    assert slug(refresh(client, first["refresh_token"])) == (401, "token_revoked")


def test_revocations_survive_switching_redis_on(database_url, simulator, tmp_path, app, login, client):
    """Revoked with the database alone, still revoked once REDIS_URL is set (Redis is
    loaded from the database, the authority)."""
    if not REDIS_URL:
        pytest.skip("needs TEST_REDIS_URL")
    tokens = login()
    without_redis = create_app(app_config(database_url, simulator.url, REDIS_URL=None), instance_path=str(tmp_path))
    without_redis.test_client().post("/wx/logout", headers={"Authentication": tokens["access_token"]})
    redis.Redis.from_url(REDIS_URL).flushdb()  # as a fresh (or restarted) Redis
    assert slug(me(client, tokens["access_token"])) == (401, "token_revoked")
    assert slug(me(client, tokens["access_token"])) == (401, "token_revoked")  # now from Redis


def test_a_redis_outage_falls_back_to_the_database(database_url, simulator, tmp_path, app, login):
    tokens = login()
    app.test_client().post("/wx/logout", headers={"Authentication": tokens["access_token"]})
    down = create_app(
        app_config(database_url, simulator.url, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"),
        instance_path=str(tmp_path),
    )
    client = down.test_client()
    assert slug(me(client, tokens["access_token"])) == (401, "token_revoked")
    fresh = client.post("/wx/login", json={"code": fresh_code("alice")})
    assert fresh.status_code == 200
    assert me(client, fresh.get_json()["access_token"]).status_code == 200


def test_expired_revocations_are_purged(app, client, login, runner):
    with app.app_context():
        db.session.add(RevokedToken(key="jti:long-gone", expires_at=utcnow().replace(year=2000)))
        db.session.commit()
    result = runner.invoke(args=["tokens", "purge"])
    assert result.exit_code == 0 and "purged 1 expired" in result.output
    tokens = login()
    client.post("/wx/logout", headers={"Authentication": tokens["access_token"]})
    with app.app_context():
        keys = db.session.scalars(sa.select(RevokedToken.key)).all()
    assert keys == [f"sid:{pyjwt.decode(tokens['access_token'], options={'verify_signature': False})['sid']}"]
