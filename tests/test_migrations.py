"""The committed migrations build exactly the schema the models describe, on this database."""

import configparser
import logging
import subprocess
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from wxlogin.extensions import db
from wxlogin.models import Identity, Note, User

from .processes import BIN, production_env


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_the_unionid_migration_keeps_users_and_merges_shared_unionids(app):
    """0002 -> 0003: every user keeps id and notes; users sharing a unionid become one."""
    from flask_migrate import downgrade, upgrade

    from wxlogin.database.engine import MIGRATIONS

    rows = [  # appid, openid, unionid
        ("wxA", "oA1", "u-shared"),
        ("wxB", "oB1", "u-shared"),
        ("wxA", "oA2", None),
    ]
    ids = {}
    with app.app_context():
        downgrade(directory=str(MIGRATIONS), revision="0002")
        try:
            with db.engine.begin() as connection:
                for number, (appid, openid, unionid) in enumerate(rows, 1):
                    connection.execute(
                        sa.text(
                            "INSERT INTO users (appid, openid, unionid, session_key, login_count, "
                            "created_at, last_login_at, token_generation, nickname, disabled_at) "
                            "VALUES (:a, :o, :u, 'sealed', 2, :t, :t, 0, :n, :d)"
                        ),
                        {"a": appid, "o": openid, "u": unionid, "t": datetime(2026, 1, number),
                         "n": "Bee" if openid == "oB1" else None,
                         "d": datetime(2026, 2, 1) if openid == "oB1" else None},
                    )
                    ids[openid] = connection.execute(
                        sa.text("SELECT id FROM users WHERE openid = :o"), {"o": openid}
                    ).scalar()
                    connection.execute(
                        sa.text("INSERT INTO notes (user_id, title, content, created_at, updated_at) "
                                "VALUES (:i, :t, '', :d, :d)"),
                        {"i": ids[openid], "t": f"note {number}", "d": datetime(2026, 1, 1)},
                    )
        finally:
            upgrade(directory=str(MIGRATIONS))
        one, two, three = ids["oA1"], ids["oB1"], ids["oA2"]
        users = {u.id: u for u in db.session.scalars(sa.select(User))}
        assert set(users) == {one, two, three}
        merged, ghost = users[one], users[two]
        assert (merged.unionid, merged.account_key, merged.login_count) == ("u-shared", "u-shared", 4)
        assert (merged.nickname, merged.disabled_at is not None, merged.token_generation) == ("Bee", True, 1)
        # the merged row stays, empty, so that its id is never reused
        assert (ghost.unionid, ghost.account_key) == (None, f"user:{two}")
        assert users[three].account_key == "wxA:oA2"
        identities = db.session.execute(
            sa.select(Identity.user_id, Identity.appid, Identity.openid, Identity.session_key).order_by(Identity.openid)
        ).all()
        assert [tuple(i) for i in identities] == [
            (one, "wxA", "oA1", "sealed"), (three, "wxA", "oA2", "sealed"), (one, "wxB", "oB1", "sealed"),
        ]
        notes = db.session.execute(sa.select(Note.user_id, Note.title).order_by(Note.title)).all()
        assert [tuple(n) for n in notes] == [(one, "note 1"), (one, "note 2"), (three, "note 3")]


SECRET_PASSWORD = "never-printed-pw"


def missing_database(url):
    """``url`` with a database that does not exist (on SQLite: a folder that does not)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return "sqlite:////nonexistent-folder/wxlogin.sqlite", "unable to open database file"
    if parsed.get_backend_name() == "postgresql":  # trust: the password is not even checked
        return parsed.set(database="wxlogin_missing", password=SECRET_PASSWORD).render_as_string(False), 'database "wxlogin_missing" does not exist'
    return parsed.set(database="wxlogin_missing").render_as_string(False), "Unknown database 'wxlogin_missing'"


def test_upgrading_a_missing_database_says_so_in_one_line(database_url, tmp_path):
    """No traceback: one line naming the database (without its password) and the problem."""
    url, problem = missing_database(database_url)
    result = subprocess.run([BIN / "flask", "--app", "wxlogin", "db", "upgrade"], cwd=tmp_path, env=production_env(url),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    (line,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("flask db: cannot connect to ") and line.endswith(f"{problem} (README: Setting up the database)")
    assert SECRET_PASSWORD not in result.stdout + result.stderr


def test_the_migration_log_names_levels_in_full():
    """alembic.ini's format, which the development server's log takes on after its automatic
    upgrade: WARNING, not Alembic's template's "WARNI"."""
    parser = configparser.RawConfigParser()
    parser.read(Path(__file__).resolve().parents[1] / "migrations" / "alembic.ini")
    formatter = logging.Formatter(parser.get("formatter_generic", "format"))
    record = logging.LogRecord("werkzeug", logging.WARNING, __file__, 1, "a warning", None, None)
    assert formatter.format(record) == "WARNING [werkzeug] a warning"


def test_the_phone_number_migration_seals_the_stored_numbers_and_back(app, login, client):
    """0007 -> 0008 seals the numbers stored in clear, bound to their user; 0008 -> 0007
    opens them again. On each of the three databases."""
    from flask_migrate import downgrade, upgrade

    from wxlogin.database.engine import MIGRATIONS

    tokens = login("alice")
    user_id = tokens["user"]["id"]

    def stored():
        with db.engine.connect() as connection:
            return connection.execute(sa.text("SELECT phone_number FROM users WHERE id = :i"), {"i": user_id}).scalar()

    with app.app_context():
        downgrade(directory=str(MIGRATIONS), revision="0007")
        try:
            with db.engine.begin() as connection:
                connection.execute(sa.text("UPDATE users SET phone_number = '13800138000' WHERE id = :i"), {"i": user_id})
        finally:
            upgrade(directory=str(MIGRATIONS))
        sealed = stored()
        assert sealed.startswith("v1:") and "13800138000" not in sealed
    me = client.get("/wx/me", headers={"Authentication": tokens["access_token"]}).get_json()
    assert me["phone_number"] == "13800138000"
    with app.app_context():
        downgrade(directory=str(MIGRATIONS), revision="0007")
        try:
            assert stored() == "13800138000"
        finally:
            upgrade(directory=str(MIGRATIONS))
