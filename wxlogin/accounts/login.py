"""Logging a WeChat user in: the code exchanged with WeChat, the user found or created.

Each ``(appid, openid)`` is an identity; identities whose login brought the same ``unionid``
belong to one user, so a person who uses two of our mini programs has one account.
"""

import logging

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from .. import messages
from ..database.statements import retry_on_conflict, upsert
from ..errors import ApiError
from ..extensions import db
from ..models import Identity, User, utcnow
from ..ops import metrics
from ..security.ratelimit import check_user_limit
from ..security.user_versions import changed
from ..wechat.client import wechat_client
from .audit import add_attempt, purge_old_attempts_now_and_then, record_attempt
from .profile import load_user
from .session_keys import seal

log = logging.getLogger(__name__)


def login_with_code(code, appid=None):
    """Exchange a ``wx.login()`` code with WeChat; return ``(user, is_new_user)``.

    Every attempt, whatever its outcome, goes to the audit trail.
    """
    client = wechat_client()
    user = None
    try:
        appid = configured_appid(client, appid)
        wechat_session = client.code2session(code, appid)
        check_user_limit(appid, wechat_session.openid)
        user, is_new_user = record_login(appid, wechat_session)  # recorded "ok" unless disabled
        if user.disabled_at is not None:
            raise ApiError(messages.USER_DISABLED)
    except ApiError as error:
        db.session.rollback()  # whatever the failed login left half done
        record_attempt(appid, user, error.slug)
        metrics.LOGINS.labels(error.slug).inc()
        raise
    metrics.LOGINS.labels("ok").inc()
    purge_old_attempts_now_and_then()
    return user, is_new_user


def configured_appid(client, appid=None):
    """``appid`` if it is configured (400 ``invalid_request`` if not); by default the first
    configured mini program."""
    if appid is not None and appid not in client.apps:
        raise ApiError(messages.UNKNOWN_APPID, details={"appid": ["Unknown appid."]})
    return appid or next(iter(client.apps))


# Built once, run with parameters: a statement object used again is neither built anew
# nor given a new cache key (SQLAlchemy memoizes it on the object), and, made on the tables
# rather than the models, it runs without the ORM's bulk-statement machinery: together a
# quarter of the CPU of ``record_login`` (3.7 ms down to 2.8 ms on PostgreSQL).
_users, _identities = User.__table__, Identity.__table__
USER_OF_IDENTITY = sa.select(_identities.c.user_id).where(
    _identities.c.appid == sa.bindparam("appid"), _identities.c.openid == sa.bindparam("openid")
)
USER_OF_UNIONID = sa.select(_users.c.id).where(_users.c.unionid == sa.bindparam("unionid"))
USER_OF_KEY = sa.select(_users.c.id).where(_users.c.account_key == sa.bindparam("key"))
_COUNT = sa.update(_users).values(
    login_count=_users.c.login_count + 1,
    last_login_at=sa.bindparam("now", type_=_users.c.last_login_at.type),  # stored as UTC
)
COUNT_LOGIN = _COUNT.where(_users.c.id == sa.bindparam("id_"))
# Where UPDATE has RETURNING (PostgreSQL, SQLite; not MySQL/MariaDB), a returning user's
# login is counted and the user read back in one statement, found through their identity;
# with the identity read back from its upsert, a login is two round trips shorter.
COUNTED_USER = (
    sa.select(User).from_statement(COUNT_LOGIN.returning(*_users.c))
    .execution_options(populate_existing=True)
)
COUNTED_USER_OF_IDENTITY = (
    sa.select(User).from_statement(
        _COUNT.where(_users.c.id == USER_OF_IDENTITY.scalar_subquery()).returning(*_users.c)
    ).execution_options(populate_existing=True)
)


@retry_on_conflict
def record_login(appid, wechat_session, restarts=3):
    """Find or create the user of this WeChat login, in one transaction; ``(user, is_new)``.

    The identity ``(appid, openid)`` names its user when it exists. Otherwise the user is
    the one with this unionid (a login from another of our mini programs), or is created,
    by an upsert on ``account_key`` so that concurrent first logins agree on one row. The
    user's ``login_count`` is then incremented under its row lock: a user is created with
    0, so exactly one of any number of concurrent first logins reads back 1, the new user.
    """
    now = utcnow()
    openid, unionid = wechat_session.openid, wechat_session.unionid
    returning = db.session.get_bind().dialect.update_returning
    user = None
    if returning:  # None: a first login in this mini program (or the account just deleted)
        user = db.session.scalar(COUNTED_USER_OF_IDENTITY, {"appid": appid, "openid": openid, "now": now})
    if user is None:
        user_id = None if returning else db.session.scalar(USER_OF_IDENTITY, {"appid": appid, "openid": openid})
        if user_id is None and unionid:
            user_id = db.session.scalar(USER_OF_UNIONID, {"unionid": unionid})
        if user_id is None:
            key = unionid or f"{appid}:{openid}"
            values = {"account_key": key, "unionid": unionid, "login_count": 0,
                      "created_at": now, "last_login_at": now, "token_generation": 0}
            upsert(User, values, ["account_key"], ["account_key"])
            user_id = db.session.scalar(USER_OF_KEY, {"key": key})
            if user_id is None:  # cannot happen at read committed; never go on with no user
                raise RuntimeError("the upserted user is not visible to its own transaction")
        if returning:
            user = db.session.scalar(COUNTED_USER, {"id_": user_id, "now": now})
            counted = user is not None
        else:
            counted = db.session.execute(COUNT_LOGIN, {"id_": user_id, "now": now}).rowcount
        if not counted and restarts:  # the account was deleted since we read it (DELETE /wx/me)
            db.session.rollback()
            return record_login(appid, wechat_session, restarts - 1)
    user_id = user.id if user is not None else user_id
    changed(user_id)
    values = {"user_id": user_id, "appid": appid, "openid": openid,
              "session_key": seal(appid, openid, wechat_session.session_key),
              "created_at": now, "last_login_at": now}
    identity = upsert(Identity, values, ["appid", "openid"], ["session_key", "last_login_at"], returning)
    if returning:
        user.identity = identity
    else:
        user = load_user(user_id, appid)
    if user.disabled_at is None:
        add_attempt(appid, user, "ok")
    db.session.commit()
    if unionid and user.unionid is None:
        _adopt_unionid(user, unionid)
    return user, user.login_count == 1


def _adopt_unionid(user, unionid):
    """A user first seen without a unionid takes it when a later login brings it, so that
    their logins from other mini programs find them. If another account already holds it
    (both were created before WeChat linked them), the two stay apart: merging accounts is
    an operator's decision."""
    try:
        db.session.execute(
            sa.update(User).where(User.id == user.id, User.unionid.is_(None)).values(unionid=unionid)
        )
        changed(user.id)
        db.session.commit()
        set_committed_value(user, "unionid", unionid)  # what the row now holds
    except IntegrityError:
        db.session.rollback()
        log.warning("user %s logged in with a unionid another account holds: not merged", user.id)
