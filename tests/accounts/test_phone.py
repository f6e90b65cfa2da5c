"""POST /wx/phone: the access token shared by all processes, and the number on the user."""

import threading
import uuid
from datetime import timedelta

import requests
import sqlalchemy as sa

from wxlogin.extensions import db
from wxlogin.models import AppToken, User, utcnow

from ..conftest import OTHER_APPID, fresh_code
from ..security.test_crypto import new_key


def phone(client, token, code):
    return client.post("/wx/phone", json={"code": code}, headers={"Authentication": token})


def fresh(code):
    """A phone code the simulator has not seen (codes are single-use there, as at WeChat)."""
    return f"{code}:{uuid.uuid4().hex}"


def test_the_number_is_returned_and_stored(client, app, login, simulator):
    tokens = login()
    response = phone(client, tokens["access_token"], fresh("sim-phone:13800138000"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "phone_number": "13800138000", "pure_phone_number": "13800138000", "country_code": "86",
    }
    me = client.get("/wx/me", headers={"Authentication": tokens["access_token"]}).get_json()
    assert me["phone_number"] == "13800138000"


def test_the_access_token_is_cached(client, app, login, simulator):
    token = login()["access_token"]
    before = simulator.calls["stable_token"]
    for number in range(3):
        assert phone(client, token, fresh(f"sim-phone:1380000000{number}")).status_code == 200
    assert simulator.calls["stable_token"] == before + 1
    with app.app_context():
        row = db.session.get(AppToken, "wxtest00000000001")
        assert row.token.startswith("v1:")  # encrypted at rest
        assert row.lease_until is None


def test_code_errors_are_400_not_401(client, login):
    token = login()["access_token"]
    assert phone(client, token, "sim-phone:13800138000:once").status_code == 200
    used = phone(client, token, "sim-phone:13800138000:once")
    assert (used.status_code, used.get_json()["error"]) == (400, "code_used")
    bad = phone(client, token, "nonsense")
    assert (bad.status_code, bad.get_json()["error"]) == (400, "invalid_code")


def test_a_watermark_of_another_app_is_502(client, app, login):
    tokens = login()
    response = phone(client, tokens["access_token"], fresh("sim-phone-other-app:13800138000"))
    assert (response.status_code, response.get_json()["error"]) == (502, "upstream_error")
    with app.app_context():
        assert db.session.get(User, tokens["user"]["id"]).phone_number is None


def test_each_app_has_its_own_access_token(client, login, simulator):
    before = simulator.calls["stable_token"]
    assert phone(client, login("amy")["access_token"], fresh("sim-phone:1")).status_code == 200
    assert phone(client, login("amy", appid=OTHER_APPID)["access_token"], fresh("sim-phone:2")).status_code == 200
    assert simulator.calls["stable_token"] == before + 2


def test_a_refused_access_token_is_replaced_once(client, app, login, simulator):
    """WeChat says 40001 (a token it no longer knows, though we think it valid): one normal
    fetch gets the current token, no forced refresh."""
    token = login()["access_token"]
    assert phone(client, token, fresh("sim-phone:1")).status_code == 200
    with app.app_context():
        cipher = app.extensions["cipher"]
        db.session.get(AppToken, "wxtest00000000001").token = cipher.encrypt(
            "sim-at-forgotten", "access_token:wxtest00000000001"
        )
        db.session.commit()
    before = simulator.calls["stable_token"]
    assert phone(client, token, fresh("sim-phone:2")).status_code == 200
    assert simulator.calls["stable_token"] == before + 1


def test_an_expired_access_token_is_fetched_once_for_a_burst(client, app, login, simulator):
    token = login()["access_token"]
    assert phone(client, token, fresh("sim-phone:1")).status_code == 200
    with app.app_context():
        db.session.get(AppToken, "wxtest00000000001").expires_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    before = simulator.calls["stable_token"]
    barrier = threading.Barrier(20)
    statuses = []

    def ask(number):
        barrier.wait()
        statuses.append(phone(app.test_client(), token, fresh(f"sim-phone:139{number:08d}")).status_code)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 20
    assert simulator.calls["stable_token"] == before + 1


def test_a_refresher_that_fails_releases_the_lease(client, app, login, simulator):
    token = login()["access_token"]
    requests.post(f"{simulator.url}/simulator/fail", json={"api": "stable_token", "errcode": 40125}, timeout=5)
    failed = phone(client, token, fresh("sim-phone:1"))
    assert (failed.status_code, failed.get_json()["error"]) == (502, "upstream_error")
    with app.app_context():
        row = db.session.get(AppToken, "wxtest00000000001")
        assert (row.lease_until, row.lease_owner, row.token) == (None, None, None)
    assert phone(client, token, fresh("sim-phone:1")).status_code == 200


def raw_phone_column(app):
    """What the database itself holds in users.phone_number, read past the model."""
    with app.app_context(), db.engine.connect() as connection:
        return [row[0] for row in connection.execute(sa.text("SELECT phone_number FROM users"))]


def test_the_number_is_stored_encrypted_and_bound_to_its_user(client, app, login):
    alice, bob = login("alice"), login("bob")
    assert phone(client, alice["access_token"], fresh("sim-phone:13800138000")).status_code == 200
    stored = [value for value in raw_phone_column(app) if value]
    assert len(stored) == 1 and stored[0].startswith("v1:") and "13800138000" not in stored[0]
    with app.app_context():  # the sealed number copied onto bob's row does not open there
        db.session.get(User, bob["user"]["id"]).phone_sealed = stored[0]
        db.session.commit()
    bob_me = client.get("/wx/me", headers={"Authentication": bob["access_token"]}).get_json()
    assert bob_me["phone_number"] is None
    alice_me = client.get("/wx/me", headers={"Authentication": alice["access_token"]}).get_json()
    assert alice_me["phone_number"] == "13800138000"


def test_wechat_is_asked_with_the_callers_openid(client, login):
    """A code bound to alice (the simulator's sim-phone-for) works for alice, not for bob:
    the service sends the caller's openid with the code."""
    alice, bob = login("alice"), login("bob")
    code = f"sim-phone-for:{alice['user']['openid']}:13700137000"
    refused = phone(client, bob["access_token"], fresh(code))
    assert (refused.status_code, refused.get_json()["error"]) == (400, "invalid_code")
    assert phone(client, alice["access_token"], fresh(code)).get_json()["phone_number"] == "13700137000"


def test_reencrypt_moves_numbers_to_the_newest_key(make_app):
    old, new = new_key(), new_key()
    before = make_app(SESSION_KEY_ENCRYPTION_KEYS=[old]).test_client()
    token = before.post("/wx/login", json={"code": fresh_code("alice")}).get_json()["access_token"]
    assert phone(before, token, fresh("sim-phone:13800138000")).status_code == 200
    rotated = make_app(SESSION_KEY_ENCRYPTION_KEYS=[new, old])
    assert "re-encrypted 1 phone numbers" in rotated.test_cli_runner().invoke(args=["session-keys", "reencrypt"]).output
    after = make_app(SESSION_KEY_ENCRYPTION_KEYS=[new]).test_client()
    assert after.get("/wx/me", headers={"Authentication": token}).get_json()["phone_number"] == "13800138000"
