"""POST /wx/login through the simulator over HTTP, checked in the response and the database."""

import logging
import threading

import pytest
import sqlalchemy as sa

from wxlogin.accounts import audit
from wxlogin.extensions import db
from wxlogin.models import Identity, User
from wxlogin.wechat.simulator.rules import _stable_id

from ..conftest import APPID, OTHER_APPID, SECRET, fresh_code


def user_rows(app):
    with app.app_context():
        return db.session.scalars(sa.select(User)).all()


def identity_rows(app):
    with app.app_context():
        return db.session.scalars(sa.select(Identity).order_by(Identity.id)).all()


def test_first_login_creates_the_user_and_returns_tokens(client, app):
    response = client.post("/wx/login", json={"code": fresh_code("alice")})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 7200
    assert body["is_new_user"] is True
    assert body["access_token"] != body["refresh_token"]
    assert body["user"]["openid"] == _stable_id("o", f"{APPID}:alice")
    assert set(body["user"]) == {
        "id", "openid", "unionid", "nickname", "avatar_url", "phone_number", "created_at", "last_login_at"
    }
    [row] = user_rows(app)
    assert (row.id, row.login_count) == (body["user"]["id"], 1)
    [identity] = identity_rows(app)
    assert (identity.user_id, identity.appid, identity.openid) == (row.id, APPID, body["user"]["openid"])
    assert identity.session_key and identity.session_key not in response.get_data(as_text=True)


def test_next_login_updates_the_same_user(client, app, login):
    first = login("bob")
    second = login("bob")
    assert second["is_new_user"] is False
    assert second["user"]["id"] == first["user"]["id"]
    assert second["user"]["last_login_at"] > first["user"]["last_login_at"]
    [row] = user_rows(app)
    assert row.login_count == 2


def test_js_code_is_an_alias_and_a_client_secret_is_ignored(client, app, caplog):
    caplog.set_level(logging.DEBUG)
    # The simulator rejects any secret but the configured one, so a 200 proves ours was used.
    response = client.post(
        "/wx/login",
        json={"js_code": fresh_code("carol"), "appid": APPID, "secret": "leaked-client-secret"},
    )
    assert response.status_code == 200
    assert "leaked-client-secret" not in caplog.text
    assert SECRET not in caplog.text
    for model in (User, Identity):
        with app.app_context():
            row = db.session.scalars(sa.select(model)).one()
            assert "leaked-client-secret" not in repr([getattr(row, c.key) for c in model.__table__.c])


def test_appid_picks_one_of_the_configured_mini_programs(client, app, login):
    other = login("dave", appid=OTHER_APPID)
    assert other["user"]["openid"] == _stable_id("o", f"{OTHER_APPID}:dave")
    assert [row.appid for row in identity_rows(app)] == [OTHER_APPID]


def test_one_unionid_is_one_user_across_mini_programs(client, app, login):
    """The simulator gives "dave" one unionid in every app, like an open-platform account."""
    first = login("dave")
    second = login("dave", appid=OTHER_APPID)
    assert second["user"]["id"] == first["user"]["id"] and second["is_new_user"] is False
    # <User>.openid is the openid in the app of the token in use
    assert first["user"]["openid"] != second["user"]["openid"]
    for tokens, appid in ((first, APPID), (second, OTHER_APPID)):
        me = client.get("/wx/me", headers={"Authentication": tokens["access_token"]}).get_json()
        assert me["openid"] == _stable_id("o", f"{appid}:dave")
    assert len(user_rows(app)) == 1
    assert [(i.appid, i.user_id) for i in identity_rows(app)] == [(APPID, first["user"]["id"]), (OTHER_APPID, first["user"]["id"])]


def test_a_unionid_that_arrives_later_joins_the_apps(client, app):
    def log_in(kind, appid):
        code = fresh_code("sam").replace("sim:", f"{kind}:", 1)
        return client.post("/wx/login", json={"code": code, "appid": appid}).get_json()

    first = log_in("sim-nounion", APPID)
    assert first["user"]["unionid"] is None
    assert log_in("sim", APPID)["user"]["unionid"] == _stable_id("o", "union:sam")
    other_app = log_in("sim", OTHER_APPID)
    assert (other_app["user"]["id"], other_app["is_new_user"]) == (first["user"]["id"], False)
    assert len(user_rows(app)) == 1


def test_concurrent_first_logins_from_two_apps_make_one_user(app):
    barrier = threading.Barrier(20)
    results = []

    def log_in(appid):
        client = app.test_client()
        barrier.wait()
        response = client.post("/wx/login", json={"code": fresh_code("twin"), "appid": appid})
        results.append((response.status_code, (response.get_json() or {}).get("is_new_user")))

    threads = [threading.Thread(target=log_in, args=((APPID, OTHER_APPID)[i % 2],)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in results] == [200] * 20
    assert sum(1 for _, is_new in results if is_new) == 1
    assert len(user_rows(app)) == 1 and len(identity_rows(app)) == 2


def test_without_appid_the_first_configured_app_is_used(client, app, login):
    assert login("dave")["user"]["openid"] == _stable_id("o", f"{APPID}:dave")


def test_unknown_appid_is_refused(client, app):
    response = client.post("/wx/login", json={"code": fresh_code("eve"), "appid": "wxnotours"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert user_rows(app) == []


def test_codes_are_opaque_strings(client):
    """A code is sent as one query value, whatever it holds."""
    name = "x&secret=evil&appid=wxother #?=%00ü"
    response = client.post("/wx/login", json={"code": f"sim:{name}:1"})
    assert response.status_code == 200
    assert response.get_json()["user"]["openid"] == _stable_id("o", f"{APPID}:{name}")


@pytest.mark.parametrize(
    "code, status, slug",
    [
        ("not-a-code", 401, "invalid_code"),
        ("sim-fail:40029", 401, "invalid_code"),
        ("sim-fail:40163", 401, "code_used"),
        ("sim-fail:45011", 429, "rate_limited"),
        ("sim-fail:40226", 403, "user_blocked"),
        ("sim-fail:-1", 503, "upstream_unavailable"),
        ("sim-fail:40125", 502, "upstream_error"),
        ("sim-fail:nonjson", 502, "upstream_error"),
        ("sim-fail:timeout", 504, "upstream_timeout"),
    ],
)
def test_wechat_failures_answer_as_api_md_says(client, app, code, status, slug):
    response = client.post("/wx/login", json={"code": code})
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == slug and body["message"]
    if status == 429:
        assert int(response.headers["Retry-After"]) > 0
    assert user_rows(app) == []


def test_a_used_code_is_refused(client):
    code = fresh_code("frank")
    assert client.post("/wx/login", json={"code": code}).status_code == 200
    response = client.post("/wx/login", json={"code": code})
    assert (response.status_code, response.get_json()["error"]) == (401, "code_used")


def test_a_busy_wechat_is_retried(client):
    code = fresh_code("grace").replace("sim:", "sim-flaky:", 1)
    response = client.post("/wx/login", json={"code": code})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "kwargs, status",
    [
        ({"json": {}}, 422),
        ({"json": {"code": ""}}, 422),
        ({"json": {"code": 42}}, 422),
        ({"json": {"code": "a" * 257}}, 422),
        ({"json": {"code": "sim:a\x00b"}}, 422),
        ({"json": ["sim:alice"]}, 422),
        ({"json": {"code": ["sim:alice"]}}, 422),
        ({"data": "code=sim:alice", "content_type": "application/x-www-form-urlencoded"}, 400),
        ({"data": "{not json", "content_type": "application/json"}, 400),
        ({"data": "[" * 30000 + "]" * 30000, "content_type": "application/json"}, 400),
        ({"data": '{"code": ' + "9" * 5000 + "}", "content_type": "application/json"}, 400),
        ({"data": b'{"code": "\xff"}', "content_type": "application/json"}, 400),
    ],
)
def test_bad_login_bodies_are_refused(client, kwargs, status):
    response = client.post("/wx/login", **kwargs)
    assert response.status_code == status
    assert response.get_json()["error"] == "invalid_request"


def test_missing_code_names_the_field(client):
    body = client.post("/wx/login", json={"appid": APPID}).get_json()
    assert body["details"] == {"code": ["Send the wx.login() code as `code` (or `js_code`)."]}


def test_concurrent_first_logins_make_one_user(app):
    """30 simultaneous first logins of one new WeChat user: one row, one is_new_user."""
    barrier = threading.Barrier(30)
    results = []

    def log_in():
        client = app.test_client()
        barrier.wait()
        response = client.post("/wx/login", json={"code": fresh_code("racer")})
        results.append((response.status_code, (response.get_json() or {}).get("is_new_user")))

    threads = [threading.Thread(target=log_in) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in results] == [200] * 30
    assert sum(1 for _, is_new in results if is_new) == 1
    [row] = user_rows(app)
    assert row.login_count == 30


def test_a_returning_login_takes_three_statements_where_update_returns(app, login, monkeypatch):
    """Where UPDATE has RETURNING (PostgreSQL, SQLite), a returning user's login counts the
    login and reads the user back in one statement, upserts the identity and reads it back
    in a second, and writes the audit row: nothing is read separately. Elsewhere (MySQL,
    MariaDB) the user is found first and read back after."""
    monkeypatch.setattr(audit._purge_due, "due", lambda: False)  # no purge in passing
    login("dora")
    with app.app_context():
        engine = db.engine
    verbs = []

    def record(_conn, _cursor, statement, *_args):
        verbs.append(statement.split(None, 1)[0])

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        login("dora")
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    if engine.dialect.update_returning:
        assert verbs == ["UPDATE", "INSERT", "INSERT"]
    else:
        assert verbs == ["SELECT", "UPDATE", "INSERT", "SELECT", "INSERT"]
