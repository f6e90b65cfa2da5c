"""The login audit trail: every attempt recorded, listed per user, kept for a while."""

from datetime import timedelta

import sqlalchemy as sa

from wxlogin.extensions import db
from wxlogin.models import LoginAttempt, utcnow

from ..conftest import APPID, fresh_code


def attempts(app):
    with app.app_context():
        return db.session.scalars(sa.select(LoginAttempt).order_by(LoginAttempt.id)).all()


def test_every_attempt_is_recorded(client, app, login, runner):
    tokens = login("alice")
    client.post("/wx/login", json={"code": "sim-fail:40226"}, headers={"User-Agent": "MiniProgram/8.0"})
    client.post("/wx/login", json={"code": fresh_code("x"), "appid": "wxunknown"})
    runner.invoke(args=["users", "disable", str(tokens["user"]["id"])])
    client.post("/wx/login", json={"code": fresh_code("alice")})
    rows = [(a.appid, a.user_id, a.outcome) for a in attempts(app)]
    alice = tokens["user"]["id"]
    assert rows == [
        (APPID, alice, "ok"),
        (APPID, None, "user_blocked"),
        ("wxunknown", None, "invalid_request"),
        (APPID, alice, "user_disabled"),
    ]
    blocked = attempts(app)[1]
    assert (blocked.client_ip, blocked.user_agent) == ("127.0.0.1", "MiniProgram/8.0")


def test_the_cli_lists_a_users_recent_attempts(client, login, runner):
    tokens = login("alice")
    login("alice")
    login("bob")
    result = runner.invoke(args=["users", "logins", tokens["user"]["openid"], "--limit", "5"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 2 and all(f"user {tokens['user']['id']}" in line and " ok " in line for line in lines)


def test_old_attempts_are_purged(app, login, runner):
    login("alice")
    with app.app_context():
        db.session.add(LoginAttempt(at=utcnow() - timedelta(days=400), outcome="ok"))
        db.session.commit()
    result = runner.invoke(args=["users", "purge-logins"])
    assert "purged 1" in result.output
    assert [a.outcome for a in attempts(app)] == ["ok"]
