"""The browser's long poll: statuses as they change, and the tokens handed over once."""

import time
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from wxlogin.extensions import db
from wxlogin.models import LoginAttempt, utcnow

from .conftest import BROWSER, Background, error, expire, poll


def confirmed(new_code, phone, client, name="alice"):
    """A code scanned and confirmed by ``name``; returns (code, their phone)."""
    code = new_code()
    user = phone(name)
    assert user.scan(code["scene"]).status_code == 200
    assert user.confirm(code["scene"]).status_code == 200
    return code, user


def test_a_poll_follows_the_code_to_its_tokens(client, new_code, phone):
    code = new_code()
    assert poll(client, code["ticket"]).get_json() == {"status": "pending"}
    alice = phone("alice")
    alice.scan(code["scene"])
    assert poll(client, code["ticket"]).get_json() == {"status": "scanned"}
    alice.confirm(code["scene"])
    answer = poll(client, code["ticket"])
    assert answer.headers["Cache-Control"] == "no-store"
    tokens = answer.get_json()
    assert set(tokens) == {"status", "access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert (tokens["status"], tokens["token_type"], tokens["expires_in"]) == ("confirmed", "Bearer", 7200)
    me = client.get("/wx/me", headers={"Authentication": tokens["access_token"]}).get_json()
    assert me == tokens["user"]
    assert me["id"] == client.get("/wx/me", headers=alice.headers).get_json()["id"]


def test_the_tokens_are_handed_over_exactly_once(client, app, new_code, phone):
    code, _ = confirmed(new_code, phone, client)
    tickets = [code["ticket"]] * 8
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda ticket: app.test_client().get(f"/wx/qr-login/{ticket}").get_json(), tickets))
    assert sorted(answer["status"] for answer in answers) == ["confirmed"] + ["used"] * 7
    assert poll(client, code["ticket"], wait=5).get_json() == {"status": "used"}  # final: at once


def test_a_waiting_poll_answers_when_the_code_is_scanned(client, app, new_code, phone):
    code = new_code()
    alice = phone("alice")
    waiting = Background(lambda: app.test_client().get(f"/wx/qr-login/{code['ticket']}?wait=20"))
    time.sleep(0.3)
    alice.scan(code["scene"])
    assert waiting.result().get_json() == {"status": "scanned"}
    assert waiting.seconds < 10  # woken, not timed out
    # The scan was answered: the next poll waits for the next change.
    waiting = Background(lambda: app.test_client().get(f"/wx/qr-login/{code['ticket']}?wait=20"))
    time.sleep(0.3)
    alice.confirm(code["scene"])
    assert waiting.result().get_json()["status"] == "confirmed"
    assert waiting.seconds < 10


def test_an_unchanged_status_is_answered_after_wait(client, new_code, phone):
    code = new_code()
    started = time.monotonic()
    assert poll(client, code["ticket"], wait=1).get_json() == {"status": "pending"}
    assert time.monotonic() - started >= 0.9
    phone("alice").scan(code["scene"])
    assert poll(client, code["ticket"], wait=1).get_json() == {"status": "scanned"}  # at once: new
    started = time.monotonic()
    assert poll(client, code["ticket"], wait=1).get_json() == {"status": "scanned"}
    assert time.monotonic() - started >= 0.9  # already answered: waited


def test_a_waiting_poll_holds_no_database_connection(client, app, new_code):
    code = new_code()
    waiting = Background(lambda: app.test_client().get(f"/wx/qr-login/{code['ticket']}?wait=3"))
    time.sleep(0.3)
    with app.app_context():
        pool = db.engine.pool
        # Sampled over the wait: the watcher's query (every 0.5 s) holds one for an instant.
        held = [pool.checkedout() for _ in range(20) if time.sleep(0.1) is None]
    assert held.count(0) >= 15, held
    assert waiting.result().get_json() == {"status": "pending"}


def test_a_denied_code_says_so_and_nothing_more(client, new_code, phone):
    code = new_code()
    alice = phone("alice")
    alice.scan(code["scene"])
    alice.deny(code["scene"])
    assert poll(client, code["ticket"], wait=5).get_json() == {"status": "denied"}


def test_expiry(client, app, make_app, new_code, phone):
    code = new_code()
    expire(app, code["scene"])
    assert poll(client, code["ticket"], wait=5).get_json() == {"status": "expired"}
    # A confirmed code not collected within QR_LOGIN_TTL of its confirmation expires too.
    late, _ = confirmed(new_code, phone, client)
    expire(app, late["scene"], decided_at=utcnow().replace(year=2020))
    assert poll(client, late["ticket"]).get_json() == {"status": "expired"}


def test_a_code_confirmed_in_time_is_collected_past_its_expiry(client, app, new_code, phone):
    """Confirmed just before the code's expiry, it is the browser's for QR_LOGIN_TTL more."""
    code, _ = confirmed(new_code, phone, client)
    expire(app, code["scene"])  # expires_at passed; decided_at is now
    assert poll(client, code["ticket"]).get_json()["status"] == "confirmed"


def test_a_waiting_poll_answers_at_the_expiry(make_app, phone):
    client = make_app(QR_LOGIN_TTL=1).test_client()
    code = client.post("/wx/qr-login").get_json()
    started = time.monotonic()
    assert poll(client, code["ticket"], wait=10).get_json() == {"status": "expired"}
    assert time.monotonic() - started < 5


def test_an_unknown_ticket_and_a_bad_wait(client, new_code):
    assert error(poll(client, "x" * 43)) == (404, "not_found")
    assert error(poll(client, "x" * 500)) == (404, "not_found")
    code = new_code()
    for wait in ("31", "-1", "soon"):
        assert error(client.get(f"/wx/qr-login/{code['ticket']}?wait={wait}")) == (422, "invalid_request")


def test_the_web_session_is_a_login_session_of_its_own(client, new_code, phone):
    code, alice = confirmed(new_code, phone, client)
    web = poll(client, code["ticket"]).get_json()
    refreshed = client.post("/wx/refresh", headers={"Authentication": web["refresh_token"]})
    assert refreshed.status_code == 200
    web_token = refreshed.get_json()["access_token"]
    assert client.post("/wx/logout", headers={"Authentication": web_token}).status_code == 200
    assert error(client.get("/wx/me", headers={"Authentication": web_token})) == (401, "token_revoked")
    assert client.get("/wx/me", headers=alice.headers).status_code == 200  # the phone stays logged in


def test_log_out_everywhere_and_disabling_reach_the_web_session(client, runner, new_code, phone):
    code, alice = confirmed(new_code, phone, client)
    web = poll(client, code["ticket"]).get_json()
    assert client.post("/wx/logout?all=true", headers=alice.headers).status_code == 200
    assert error(client.get("/wx/me", headers={"Authentication": web["access_token"]})) == (401, "token_revoked")
    code, alice = confirmed(new_code, phone, client, "bob")
    web = poll(client, code["ticket"]).get_json()
    runner.invoke(args=["users", "disable", str(web["user"]["id"])])
    assert error(client.get("/wx/me", headers={"Authentication": web["access_token"]})) == (403, "user_disabled")


def test_a_user_disabled_before_collection_gets_no_tokens(client, app, runner, new_code, phone):
    code, alice = confirmed(new_code, phone, client)
    user_id = client.get("/wx/me", headers=alice.headers).get_json()["id"]
    runner.invoke(args=["users", "disable", str(user_id)])
    assert error(poll(client, code["ticket"])) == (403, "user_disabled")
    assert poll(client, code["ticket"]).get_json() == {"status": "used"}
    with app.app_context():
        last = db.session.scalars(sa.select(LoginAttempt).order_by(LoginAttempt.id.desc())).first()
    assert (last.method, last.outcome, last.user_id) == ("qr", "user_disabled", user_id)


def test_the_handing_over_is_in_the_audit_trail(client, app, new_code, phone):
    code, alice = confirmed(new_code, phone, client)
    client.get(f"/wx/qr-login/{code['ticket']}", headers={"User-Agent": BROWSER},
               environ_base={"REMOTE_ADDR": "198.51.100.4"})
    user_id = client.get("/wx/me", headers=alice.headers).get_json()["id"]
    with app.app_context():
        rows = db.session.scalars(sa.select(LoginAttempt).where(LoginAttempt.user_id == user_id)
                                  .order_by(LoginAttempt.id)).all()
    assert [(row.method, row.outcome) for row in rows] == [("code", "ok"), ("qr", "ok")]
    assert (rows[1].client_ip, rows[1].user_agent) == ("198.51.100.4", BROWSER)


def test_head_is_refused_and_leaves_the_tokens(client, new_code, phone):
    """HEAD would run the poll and throw its body away: the tokens would be lost."""
    code, _ = confirmed(new_code, phone, client)
    head = client.head(f"/wx/qr-login/{code['ticket']}")
    assert head.status_code == 405 and head.headers["Allow"] == "GET"
    assert poll(client, code["ticket"]).get_json()["status"] == "confirmed"


def test_a_newer_poll_of_a_ticket_ends_the_older_one(client, app, new_code, phone):
    """A browser polls one at a time: a poll it gave up on (a timeout, a reload) is ended
    by its next one, and cannot take the tokens from it."""
    code = new_code()
    alice = phone("alice")
    alice.scan(code["scene"])
    poll(client, code["ticket"])  # "scanned" seen
    older = Background(lambda: app.test_client().get(f"/wx/qr-login/{code['ticket']}?wait=20"))
    time.sleep(0.3)
    newer = Background(lambda: app.test_client().get(f"/wx/qr-login/{code['ticket']}?wait=20"))
    assert older.result(5).get_json() == {"status": "scanned"}  # at once, not after 20 s
    time.sleep(0.2)
    alice.confirm(code["scene"])
    assert newer.result().get_json()["status"] == "confirmed"


def test_polls_are_limited_per_client_ip(client, new_code, monkeypatch):
    from wxlogin.api import qr_login

    assert qr_login.POLL_LIMIT == "1200/minute"
    monkeypatch.setattr(qr_login, "POLL_LIMIT", "2/minute")  # read at each request
    code = new_code()
    assert [poll(client, code["ticket"]).status_code for _ in range(2)] == [200, 200]
    limited = poll(client, code["ticket"])
    assert error(limited) == (429, "rate_limited") and int(limited.headers["Retry-After"]) > 0
    assert poll(client, code["ticket"], wait=0).status_code == 429
    other = client.get(f"/wx/qr-login/{code['ticket']}", environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert other.status_code == 200


def test_the_database_going_away_during_a_wait_is_answered_503_at_once(app, new_code, monkeypatch):
    """The watcher's failed query wakes the waiting polls: they look for themselves and
    answer 503 within their budget, not at the end of their wait."""
    import sqlalchemy.exc

    from wxlogin.qr_login import collect, wakeups

    code = new_code()
    down = sqlalchemy.exc.OperationalError("SELECT", {}, ConnectionRefusedError("the database is down"))
    real_by_ticket, calls = collect.by_ticket, []

    def by_ticket(ticket):
        calls.append(ticket)
        if len(calls) > 1:
            raise down
        return real_by_ticket(ticket)

    def read_versions(self, ids):
        raise down

    monkeypatch.setattr(collect, "by_ticket", by_ticket)
    monkeypatch.setattr(wakeups.Wakeups, "_read_versions", read_versions)
    waiting = Background(lambda: app.test_client().get(f"/wx/qr-login/{code['ticket']}?wait=20"))
    response = waiting.result()
    assert (response.status_code, response.get_json()["error"]) == (503, "database_unavailable")
    assert waiting.seconds < 5


def test_the_cli_lists_a_web_session_as_qr(client, runner, new_code, phone):
    code, alice = confirmed(new_code, phone, client)
    poll(client, code["ticket"])
    openid = client.get("/wx/me", headers=alice.headers).get_json()["openid"]
    lines = runner.invoke(args=["users", "logins", openid]).output.splitlines()
    assert " qr   ok " in lines[0] and " code ok " in lines[1]
