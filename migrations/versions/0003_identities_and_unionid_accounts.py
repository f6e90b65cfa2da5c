"""identities and unionid accounts

A user becomes an account with one identity per mini program. Each existing user keeps its
id, data and tokens (their ``aud`` names the app, their ``sub`` the user): its (appid,
openid, session_key) moves to ``identities``. Users that share a unionid (logins from
several mini programs before this release) are merged into the oldest one: identities and
notes move to it, it takes the profile fields it lacks, the most restrictive switches
(disabled, token generation) and the total login count. The merged rows stay, empty, so
that their ids are never given to anyone else (SQLite would reuse the highest): their
tokens find no identity and are refused.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def upgrade():
    op.create_table(
        "identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("session_key", sa.String(length=255), nullable=True),
        sa.Column("created_at", DATETIME, nullable=False),
        sa.Column("last_login_at", DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("appid", "openid", name="uq_identities_appid_openid"),
        **MYSQL_TABLE,
    )
    op.create_index("ix_identities_user_id", "identities", ["user_id"])
    op.execute(
        "INSERT INTO identities (user_id, appid, openid, session_key, created_at, last_login_at) "
        "SELECT id, appid, openid, session_key, created_at, last_login_at FROM users"
    )
    _merge_users_sharing_a_unionid()
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("account_key", sa.String(length=100), nullable=True))
    # unionid, else the first identity's appid:openid, else (a merged, empty row) user:<id>
    op.execute(
        "UPDATE users SET account_key = COALESCE(unionid, "
        "(SELECT i.appid FROM identities i WHERE i.user_id = users.id ORDER BY i.id LIMIT 1)"
        " || ':' || (SELECT i.openid FROM identities i WHERE i.user_id = users.id ORDER BY i.id LIMIT 1),"
        " 'user:' || id)"
        if op.get_bind().dialect.name != "mysql"
        else "UPDATE users u SET account_key = COALESCE(u.unionid, "
        "(SELECT CONCAT(i.appid, ':', i.openid) FROM identities i WHERE i.user_id = u.id ORDER BY i.id LIMIT 1),"
        " CONCAT('user:', u.id))"
    )
    op.drop_index("ix_users_unionid", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.alter_column("account_key", existing_type=sa.String(length=100), nullable=False)
        batch.create_unique_constraint("uq_users_account_key", ["account_key"])
        batch.create_unique_constraint("uq_users_unionid", ["unionid"])
        batch.drop_constraint("uq_users_appid_openid", type_="unique")
        batch.drop_column("session_key")
        batch.drop_column("openid")
        batch.drop_column("appid")


def _merge_users_sharing_a_unionid():
    connection = op.get_bind()
    groups = connection.execute(
        sa.text(
            "SELECT unionid, MIN(id) FROM users WHERE unionid IS NOT NULL "
            "GROUP BY unionid HAVING COUNT(*) > 1"
        )
    ).all()
    for unionid, keep in groups:
        others = [
            row[0]
            for row in connection.execute(
                sa.text("SELECT id FROM users WHERE unionid = :u AND id <> :keep"),
                {"u": unionid, "keep": keep},
            )
        ]
        for other in others:
            for table in ("identities", "notes"):
                connection.execute(
                    sa.text(f"UPDATE {table} SET user_id = :keep WHERE user_id = :other"),
                    {"keep": keep, "other": other},
                )
            _absorb(connection, keep, other)


def _absorb(connection, keep, other):
    columns = "nickname, avatar_url, login_count, last_login_at, disabled_at, token_generation"
    kept, merged = (
        connection.execute(sa.text(f"SELECT {columns} FROM users WHERE id = :i"), {"i": i}).one()
        for i in (keep, other)
    )
    disabled = [moment for moment in (kept.disabled_at, merged.disabled_at) if moment is not None]
    connection.execute(
        sa.text(
            "UPDATE users SET nickname = :n, avatar_url = :a, login_count = :c, last_login_at = :l, "
            "disabled_at = :d, token_generation = :g WHERE id = :keep"
        ),
        {
            "n": kept.nickname or merged.nickname,
            "a": kept.avatar_url or merged.avatar_url,
            "c": kept.login_count + merged.login_count,
            "l": max(kept.last_login_at, merged.last_login_at),
            "d": min(disabled) if disabled else None,
            "g": max(kept.token_generation, merged.token_generation) + 1,
            "keep": keep,
        },
    )
    connection.execute(sa.text("UPDATE users SET unionid = NULL WHERE id = :other"), {"other": other})


def downgrade():
    """Back to one row per (appid, openid): each identity beyond a user's first becomes a
    user of its own (without notes)."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("appid", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("openid", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("session_key", sa.String(length=255), nullable=True))
    connection = op.get_bind()
    identities = connection.execute(
        sa.text(
            "SELECT id, user_id, appid, openid, session_key, created_at, last_login_at "
            "FROM identities ORDER BY id"
        )
    ).all()
    seen = set()
    for _id, user_id, appid, openid, session_key, created_at, last_login_at in identities:
        values = {"a": appid, "o": openid, "s": session_key, "c": created_at, "l": last_login_at}
        if user_id not in seen:
            seen.add(user_id)
            connection.execute(
                sa.text("UPDATE users SET appid = :a, openid = :o, session_key = :s WHERE id = :u"),
                {**values, "u": user_id},
            )
        else:
            connection.execute(
                sa.text(
                    "INSERT INTO users (account_key, appid, openid, session_key, login_count, "
                    "created_at, last_login_at, token_generation) "
                    "VALUES (:k, :a, :o, :s, 1, :c, :l, 0)"
                ),
                {**values, "k": f"{appid}:{openid}"},
            )
    connection.execute(sa.text("DELETE FROM users WHERE appid IS NULL"))
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_unionid", type_="unique")
        batch.drop_constraint("uq_users_account_key", type_="unique")
        batch.drop_column("account_key")
        batch.alter_column("appid", existing_type=sa.String(length=32), nullable=False)
        batch.alter_column("openid", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint("uq_users_appid_openid", ["appid", "openid"])
    op.create_index("ix_users_unionid", "users", ["unionid"])
    op.drop_table("identities")
