"""With Redis, each process keeps snapshots of users; a change on any instance is seen by
every other at once (the user's version moves on in Redis)."""

import time

import pytest
import redis
import sqlalchemy as sa

from wxlogin import create_app
from wxlogin.extensions import db
from wxlogin.security.redis_trust import CHECK_EVERY

from ..conftest import REDIS_URL, app_config, free_port

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="needs TEST_REDIS_URL (no cache without Redis)")


@pytest.fixture
def other(app, database_url, simulator, tmp_path_factory):
    """A second instance of the service (as on another host), sharing database and Redis."""
    return create_app(app_config(database_url, simulator.url), instance_path=str(tmp_path_factory.mktemp("other")))


def me(app, token):
    return app.test_client().get("/wx/me", headers={"Authentication": token})


def test_a_profile_change_on_one_instance_is_served_by_the_other_at_once(app, other, login):
    token = login("carol")["access_token"]
    assert me(other, token).get_json()["nickname"] is None  # cached there now
    patched = app.test_client().patch("/wx/me", json={"nickname": "Caro"}, headers={"Authentication": token})
    assert patched.status_code == 200
    assert me(other, token).get_json()["nickname"] == "Caro"


def test_a_disabled_user_is_refused_by_an_instance_that_cached_them(app, other, login):
    tokens = login("dave")
    assert me(other, tokens["access_token"]).status_code == 200
    result = app.test_cli_runner().invoke(args=["users", "disable", tokens["user"]["openid"]])
    assert result.exit_code == 0, result.output
    assert me(other, tokens["access_token"]).get_json()["error"] == "user_disabled"


def test_log_out_everywhere_reaches_an_instance_that_cached_the_user(app, other, login):
    token = login("erin")["access_token"]
    assert me(other, token).status_code == 200
    app.test_client().post("/wx/logout?all=true", headers={"Authentication": token})
    assert me(other, token).get_json()["error"] == "token_revoked"


def test_snapshots_are_served_without_the_database(app, login):
    """The point of the cache: a repeat request asks Redis only."""
    token = login("fay")["access_token"]
    for _ in range(2):  # the first check after a flush reloads Redis and asks the database
        assert me(app, token).status_code == 200
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert me(app, token).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert statements == []


@pytest.fixture
def cut_off(database_url, simulator, tmp_path_factory):
    """An instance whose Redis does not answer (as on a host cut off from it)."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    return create_app(app_config(database_url, simulator.url, REDIS_URL=dead),
                      instance_path=str(tmp_path_factory.mktemp("cut-off")))


def test_log_out_everywhere_that_redis_missed_is_honoured_by_an_instance_that_cached_the_user(app, other, cut_off, login):
    token = login("hank")["access_token"]
    cache_in(other, token)
    done = cut_off.test_client().post("/wx/logout?all=true", headers={"Authentication": token})
    assert done.status_code == 200  # the database has it; Redis's miss is counted there
    assert me(other, token).get_json()["error"] == "token_revoked"  # no retry needed


def test_a_logout_that_redis_missed_is_honoured_everywhere_without_a_retry(app, other, cut_off, login):
    token = login("ivy")["access_token"]
    cache_in(other, token)
    missed_before = missed(app)
    assert cut_off.test_client().post("/wx/logout", headers={"Authentication": token}).status_code == 200
    assert missed(app) == missed_before + 1  # counted with the revocation, in its transaction
    assert me(other, token).get_json()["error"] == "token_revoked"
    assert me(app, token).get_json()["error"] == "token_revoked"
    # Redis is reloaded from the database, and believed again.
    assert me(other, login("ivy")["access_token"]).status_code == 200
    assert redis.Redis.from_url(REDIS_URL).exists("wxlogin:revoked:sid:" + _claims(token)["sid"])


def test_a_theft_that_redis_missed_ends_the_session_everywhere(app, other, cut_off, login):
    tokens = login("jill")
    refresh = {"Authentication": tokens["refresh_token"]}
    cache_in(other, tokens["access_token"])
    assert app.test_client().post("/wx/refresh", headers=refresh).status_code == 200
    replay = cut_off.test_client().post("/wx/refresh", headers=refresh)  # the copy comes back
    assert replay.get_json()["error"] == "token_revoked"
    assert me(other, tokens["access_token"]).get_json()["error"] == "token_revoked"


def test_disabling_without_redis_reaches_an_instance_that_cached_the_user(app, other, cut_off, login):
    tokens = login("joe")
    cache_in(other, tokens["access_token"])
    result = cut_off.test_cli_runner().invoke(args=["users", "disable", tokens["user"]["openid"]])
    assert result.exit_code == 0, result.output
    # The command does not wait: each instance learns of the miss at its next check.
    deadline = time.monotonic() + 2 * CHECK_EVERY
    while me(other, tokens["access_token"]).status_code == 200:
        assert time.monotonic() < deadline, "a stale snapshot outlived the check interval"
        time.sleep(0.05)
    assert me(other, tokens["access_token"]).get_json()["error"] == "user_disabled"


def missed(app):
    with app.app_context():
        from wxlogin.security.redis_trust import missed_writes

        return missed_writes()


def cache_in(instance, token):
    """Serve the token's user twice on ``instance``: Redis loaded and believed, the user's
    snapshot cached (the first request after a flush reloads Redis and asks the database)."""
    for _ in range(2):
        assert me(instance, token).status_code == 200


def _claims(token):
    import jwt

    return jwt.decode(token, options={"verify_signature": False})


def test_a_restarted_redis_never_hands_out_a_version_a_process_still_holds(app, other, login):
    tokens = login("jack")
    assert me(other, tokens["access_token"]).status_code == 200  # cached under the version
    redis.Redis.from_url(REDIS_URL).flushdb()  # Redis restarts empty
    assert me(app, login("kim")["access_token"]).status_code == 200  # traffic reloads revocations
    result = app.test_cli_runner().invoke(args=["users", "disable", tokens["user"]["openid"]])
    assert result.exit_code == 0, result.output
    assert me(other, tokens["access_token"]).get_json()["error"] == "user_disabled"


def test_a_reload_copies_every_revocation_in_batches(app, login, monkeypatch):
    monkeypatch.setattr("wxlogin.security.redis_store.LOAD_BATCH", 2)
    tokens = [login(f"batch{i}")["access_token"] for i in range(5)]
    for token in tokens:
        assert app.test_client().post("/wx/logout", headers={"Authentication": token}).status_code == 200
    redis.Redis.from_url(REDIS_URL).flushdb()  # Redis restarts empty: the next check reloads it
    cache_in(app, login("batch-other")["access_token"])
    assert all(me(app, token).get_json()["error"] == "token_revoked" for token in tokens)
    keys = redis.Redis.from_url(REDIS_URL).keys("wxlogin:revoked:sid:*")
    assert len(keys) == 5


def test_requests_go_on_believing_redis_while_one_reads_its_marker_again(app, login):
    """Past ``REFRESH_AFTER`` one request reads the marker again; the others, meanwhile, go
    on with it while it is fresh (no database query), and ask the database once it is not."""
    from wxlogin.security.redis_trust import REFRESH_AFTER

    token = login("erin")["access_token"]
    for _ in range(2):  # the marker read (which clears the cache), then the snapshot cached
        assert me(app, token).status_code == 200
    with app.app_context():
        trust, engine = app.extensions["token_store"].trust, db.engine
    statements = []
    sa.event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: statements.append(statement))
    marker = trust._state[0]
    trust.settle(marker, time.monotonic() - (REFRESH_AFTER + CHECK_EVERY) / 2)  # due, still fresh
    with trust._checking:  # another request is reading it again
        assert me(app, token).status_code == 200
    assert statements == []
    trust.settle(marker, trust._state[1] - CHECK_EVERY)  # no longer fresh
    with trust._checking:
        assert me(app, token).status_code == 200
    assert statements  # asked the database
    due = time.monotonic() - (REFRESH_AFTER + CHECK_EVERY) / 2
    trust.settle(marker, due)
    assert me(app, token).status_code == 200
    assert trust._state[1] > due  # read again before it expired, by the request that found it due


def test_a_change_redis_missed_waits_for_the_hosts_with_its_connection_given_back(
        app, login, database_url, simulator, tmp_path_factory):
    """Log out everywhere on an instance cut off from Redis: the answer waits CHECK_EVERY
    (every host then relies on the counted miss), at the very end of the request, when its
    database connection is back in the pool: a pool of one still serves other requests."""
    import threading

    token = login("kurt")["access_token"]
    dead = f"redis://127.0.0.1:{free_port()}/0"
    cut_off = create_app(app_config(database_url, simulator.url, REDIS_URL=dead, DATABASE_POOL_SIZE=1),
                         instance_path=str(tmp_path_factory.mktemp("cut-off-1")))
    with cut_off.app_context():
        pool = db.engine.pool
    during = []
    watcher = threading.Timer(CHECK_EVERY / 2, lambda: during.append(pool.checkedout()))
    watcher.start()
    started = time.monotonic()
    done = cut_off.test_client().post("/wx/logout?all=true", headers={"Authentication": token})
    took = time.monotonic() - started
    watcher.join()
    assert done.status_code == 200
    assert took >= CHECK_EVERY
    assert during == [0]  # waiting, it held no connection
    with cut_off.app_context():
        db.engine.dispose()
