"""Database models: users and their identities and notes, revocations, WeChat access tokens,
the login audit trail, and web logins by QR code."""

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db

# MySQL's DATETIME drops fractions of a second unless told otherwise; "newest first"
# needs them.
_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
# Integer primary keys: a path id above this cannot exist and must not reach the database,
# where PostgreSQL would reject it as out of range.
MAX_ID = 2**31 - 1
# Tables on MySQL/MariaDB are utf8mb4 whatever the server default, so emoji survive.
_MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def utcnow():
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Stored as naive UTC (portable to all three databases), read back as aware UTC."""

    impl = _DATETIME
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=timezone.utc) if value is not None else None


class User(db.Model):
    """A person: one account for every mini program they log in from.

    Logins that WeChat gives the same ``unionid`` (mini programs bound to one open-platform
    account) are the same user. ``account_key`` is what makes creating a user race-safe: the
    unionid when there is one, else the first identity's ``appid:openid``.
    """

    __tablename__ = "users"
    # AUTOINCREMENT: on SQLite, the id of a deleted account is never given to a new one.
    __table_args__ = ({**_MYSQL_TABLE, "sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    unionid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    nickname: Mapped[str | None] = mapped_column(sa.String(64))
    avatar_url: Mapped[str | None] = mapped_column(sa.String(1024))
    # Stored sealed, bound to the user (accounts.phone); ``phone_number`` is the clear number.
    phone_sealed: Mapped[str | None] = mapped_column("phone_number", sa.String(255))
    login_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by an operator (flask users disable): no login, and no token of theirs works.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Tokens carry the generation they were issued in; "log out everywhere" bumps it.
    token_generation: Mapped[int] = mapped_column(default=0, server_default="0")

    # The identity of the request's mini program (set when a token or login names one).
    identity = None

    @property
    def openid(self):
        return self.identity.openid if self.identity is not None else None

    @property
    def phone_number(self):
        from .accounts.phone import (
            reveal,  # here, not at the top: the models load first
        )

        return reveal(self.id, self.phone_sealed)

    @property
    def appid(self):
        return self.identity.appid if self.identity is not None else None

    def __repr__(self):
        return f"<User {self.id}>"


class Identity(db.Model):
    """A user as one mini program knows them: ``(appid, openid)`` and that app's session."""

    __tablename__ = "identities"
    __table_args__ = (
        sa.UniqueConstraint("appid", "openid", name="uq_identities_appid_openid"),
        _MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    appid: Mapped[str] = mapped_column(sa.String(32))
    openid: Mapped[str] = mapped_column(sa.String(64))
    # Needed to decrypt user data and to check the WeChat session; encrypted, never sent out.
    session_key: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self):
        return f"<Identity {self.appid}/{self.openid} of user {self.user_id}>"


class Note(db.Model):
    """A short text a user keeps; the data routes' example resource."""

    __tablename__ = "notes"
    __table_args__ = (
        # The listing is "this user's notes, newest first".
        sa.Index("ix_notes_user_id_created_at", "user_id", "created_at"),
        _MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(200))
    content: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self):
        return f"<Note {self.id} of user {self.user_id}>"


class RevokedToken(db.Model):
    """A revoked token (``jti:<id>``) or login session (``sid:<id>``), kept until the last
    token it covers has expired. The authority: with REDIS_URL set, Redis holds a copy
    (``security.redis_store``)."""

    __tablename__ = "revoked_tokens"
    __table_args__ = (_MYSQL_TABLE,)

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AppToken(db.Model):
    """A mini program's WeChat access token (``wechat.app_token``), shared by every process
    (encrypted at rest). Not one of our own access tokens: those are JWTs, never stored.

    ``expires_at`` is when to stop using it (a margin before WeChat's expiry). The lease is
    the refresh lock: the process whose atomic conditional UPDATE sets ``lease_owner`` fetches
    the new token; the others wait for it instead of stampeding WeChat.
    """

    __tablename__ = "access_tokens"
    __table_args__ = (_MYSQL_TABLE,)

    appid: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    token: Mapped[str | None] = mapped_column(sa.String(512))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(32))


class LoginAttempt(db.Model):
    """One POST /wx/login, whatever its outcome: the audit trail (kept AUDIT_RETENTION_DAYS)."""

    __tablename__ = "login_attempts"
    __table_args__ = (sa.Index("ix_login_attempts_user_id_at", "user_id", "at"), _MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    appid: Mapped[str | None] = mapped_column(sa.String(32))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    client_ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(256))
    outcome: Mapped[str] = mapped_column(sa.String(32))  # "ok" or the error slug
    # How the login was made: "code" (a wx.login() code) or "qr" (a web session, qr_login).
    method: Mapped[str] = mapped_column(sa.String(16), default="code", server_default="code")


class RedisSync(db.Model):
    """One row: how many writes Redis has missed, ever.

    Every revocation, disabling or "log out everywhere" that Redis could not be given adds
    one, in the transaction of the change itself. Redis is believed only while it holds the
    marker of a reload made at the current count (``security.redis_trust``).
    """

    __tablename__ = "redis_sync"
    __table_args__ = (_MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    missed: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")


class QrLogin(db.Model):
    """One web login by scanning a mini program code (``qr_login``), from its creation by a
    browser to the handing over of its tokens.

    Only a hash of the browser's ticket is kept: whoever reads the table cannot collect a
    confirmed login. ``version`` grows with every change of ``status``: it is what waiting
    polls watch. ``reported`` is the status last answered to the browser's poll.
    """

    __tablename__ = "qr_logins"
    __table_args__ = (_MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scene: Mapped[str] = mapped_column(sa.String(32), unique=True)
    appid: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    reported: Mapped[str] = mapped_column(sa.String(16), default="pending")
    version: Mapped[int] = mapped_column(default=0)
    requester_ip: Mapped[str] = mapped_column(sa.String(64))
    requester_agent: Mapped[str] = mapped_column(sa.String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The user who scanned it: the only one who may confirm or deny it.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
