"""DELETE /wx/me and `flask users delete`: the account erased in one transaction, every
token refused from the next request on, the audit trail kept without the person, and a
later login a new account. Races with a refresh and a login of the same user leave no half
account and no live token."""

import threading
from datetime import datetime

import sqlalchemy as sa

from wxlogin.extensions import db

from ..conftest import OTHER_APPID, fresh_code


def raw(app, sql):
    """Rows as the database itself holds them, read past the models."""
    with app.app_context(), db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(sql))]


def error(response):
    return response.status_code, response.get_json()["error"]


def test_the_account_is_erased_and_its_tokens_refused(client, app, login):
    alice = login("alice")
    headers = {"Authentication": alice["access_token"]}
    client.post("/wx/phone", json={"code": f"sim-phone:13800138000:{fresh_code('x')}"}, headers=headers)
    client.post("/wx/notes", json={"title": "my diary", "content": "a private thought"}, headers=headers)
    other_app = client.post("/wx/login", json={"code": fresh_code("alice"), "appid": OTHER_APPID}).get_json()
    bob = login("bob")
    client.post("/wx/notes", json={"title": "bob's", "content": "stays"}, headers={"Authentication": bob["access_token"]})

    assert client.delete("/wx/me", headers=headers).get_json() == {"deleted": True}

    # Every token of the account, of either mini program, access and refresh: revoked.
    for token in (alice["access_token"], other_app["access_token"]):
        assert error(client.get("/wx/me", headers={"Authentication": token})) == (401, "token_revoked")
    for token in (alice["refresh_token"], other_app["refresh_token"]):
        assert error(client.post("/wx/refresh", headers={"Authentication": token})) == (401, "token_revoked")
    assert client.get("/wx/me", headers={"Authentication": bob["access_token"]}).status_code == 200

    # The raw database holds nothing of her: no row, no number, no note, no identity.
    assert raw(app, "SELECT id FROM users") == [(bob["user"]["id"],)]
    assert raw(app, "SELECT DISTINCT user_id FROM identities") == [(bob["user"]["id"],)]
    assert raw(app, "SELECT title, content FROM notes") == [("bob's", "stays")]
    dump = str(raw(app, "SELECT * FROM users")) + str(raw(app, "SELECT * FROM notes"))
    assert "13800138000" not in dump and "private thought" not in dump
    # The audit trail keeps her rows, naming nobody.
    kept = raw(app, "SELECT appid, user_id, client_ip, user_agent, outcome, method FROM login_attempts ORDER BY id")
    assert kept[0] == ("wxtest00000000001", None, None, None, "ok", "code")
    assert len(kept) == 3 and kept[2][1] == bob["user"]["id"]


def test_a_later_login_makes_a_new_account(client, login):
    first = login("alice")
    client.delete("/wx/me", headers={"Authentication": first["access_token"]})
    again = login("alice")
    assert again["is_new_user"] is True
    assert again["user"]["id"] != first["user"]["id"]
    assert again["user"]["openid"] == first["user"]["openid"]  # the same WeChat user
    # The old tokens stay dead: the new account does not take over the old id.
    assert error(client.get("/wx/me", headers={"Authentication": first["access_token"]})) == (401, "token_revoked")


def test_a_deleted_account_is_gone_from_web_login_codes(client, login):
    alice = login("alice")
    headers = {"Authentication": alice["access_token"]}
    code = client.post("/wx/qr-login").get_json()
    client.post("/wx/qr-login/scan", json={"scene": code["scene"]}, headers=headers)
    client.post("/wx/qr-login/confirm", json={"scene": code["scene"]}, headers=headers)
    client.delete("/wx/me", headers=headers)
    assert error(client.get(f"/wx/qr-login/{code['ticket']}")) == (404, "not_found")  # the code went with her


def test_operators_delete_with_a_confirmation(client, app, login, runner):
    alice = login("alice")
    refused = runner.invoke(args=["users", "delete", alice["user"]["openid"]], input="n\n")
    assert refused.exit_code == 1 and "Aborted" in refused.output
    assert client.get("/wx/me", headers={"Authentication": alice["access_token"]}).status_code == 200
    result = runner.invoke(args=["users", "delete", alice["user"]["openid"], "--yes"])
    assert result.exit_code == 0 and f"deleted user {alice['user']['id']}" in result.output
    assert error(client.get("/wx/me", headers={"Authentication": alice["access_token"]})) == (401, "token_revoked")
    assert raw(app, "SELECT id FROM users") == []


def test_a_deletion_racing_a_refresh_and_a_login_leaves_no_live_token(app, login):
    """Many rounds of: delete the account while the same user refreshes and logs in again.
    Whatever the order, the old account is gone whole, and every token issued to it is
    refused afterwards; a login either made the new account or failed cleanly."""
    for round_number in range(8):
        tokens = login(f"racer{round_number}")
        barrier = threading.Barrier(3)
        answers = {}

        def run(name, call):
            client = app.test_client()
            barrier.wait()
            answers[name] = call(client)

        calls = {
            "delete": lambda c: c.delete("/wx/me", headers={"Authentication": tokens["access_token"]}),
            "refresh": lambda c: c.post("/wx/refresh", headers={"Authentication": tokens["refresh_token"]}),
            "login": lambda c: c.post("/wx/login", json={"code": fresh_code(f"racer{round_number}")}),
        }
        threads = [threading.Thread(target=run, args=item) for item in calls.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert answers["delete"].status_code == 200
        client = app.test_client()
        issued = [tokens["access_token"]]
        if answers["refresh"].status_code == 200:
            issued.append(answers["refresh"].get_json()["access_token"])
        for token in issued:  # nothing the old account was given survives
            assert error(client.get("/wx/me", headers={"Authentication": token})) == (401, "token_revoked")
        login_answer = answers["login"]
        if login_answer.status_code == 200:  # it made (or kept, if it came first and was then erased) an account
            body = login_answer.get_json()
            me = client.get("/wx/me", headers={"Authentication": body["access_token"]})
            if body["user"]["id"] == tokens["user"]["id"]:  # it logged in before the deletion
                assert error(me) == (401, "token_revoked")
            else:
                assert me.status_code == 200 and body["is_new_user"] is True
        else:
            assert login_answer.status_code in (503,), login_answer.get_json()
        # No half account: every user row has its identity, every identity its user.
        orphans = raw(app, "SELECT u.id FROM users u LEFT JOIN identities i ON i.user_id = u.id WHERE i.id IS NULL")
        assert orphans == []
        # And the audit trail names nobody it lost: no row without a user keeps an address.
        assert raw(app, "SELECT id FROM login_attempts WHERE user_id IS NULL AND client_ip IS NOT NULL") == []


def test_an_id_that_is_also_an_openid_is_not_guessed(client, app, login, runner):
    alice, bob = login("alice"), login("bob")
    with app.app_context(), db.engine.begin() as connection:  # bob's openid is alice's id
        connection.execute(sa.text("UPDATE identities SET openid = :o WHERE user_id = :u"),
                           {"o": str(alice["user"]["id"]), "u": bob["user"]["id"]})
    result = runner.invoke(args=["users", "delete", str(alice["user"]["id"]), "--yes"])
    assert result.exit_code == 1 and "names users" in result.output
    assert len(raw(app, "SELECT id FROM users")) == 2


def test_a_token_older_than_its_account_is_refused(client, app, login):
    """Were an id ever given twice (a restored backup, an old MariaDB), a deleted account's
    tokens would name the new account: a token issued before the account existed is revoked."""
    tokens = login("alice")
    with app.app_context(), db.engine.begin() as connection:  # the account is "newer" than its token
        connection.execute(sa.text("UPDATE users SET created_at = :t WHERE id = :u"),
                           {"t": datetime(2099, 1, 1), "u": tokens["user"]["id"]})
    assert error(client.get("/wx/me", headers={"Authentication": tokens["access_token"]})) == (401, "token_revoked")
