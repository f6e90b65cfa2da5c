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
    user_id = db.session.scalar(
        sa.select(Identity.user_id).where(Identity.appid == appid, Identity.openid == wechat_session.openid)
    )
    if user_id is None and wechat_session.unionid:
        user_id = db.session.scalar(sa.select(User.id).where(User.unionid == wechat_session.unionid))
    if user_id is None:
        key = wechat_session.unionid or f"{appid}:{wechat_session.openid}"
        values = {"account_key": key, "unionid": wechat_session.unionid, "login_count": 0,
                  "created_at": now, "last_login_at": now, "token_generation": 0}
        upsert(User, values, ["account_key"], lambda new: {"account_key": new.account_key})
        user_id = db.session.scalar(sa.select(User.id).where(User.account_key == key))
        if user_id is None:  # cannot happen at read committed; never go on with no user
            raise RuntimeError("the upserted user is not visible to its own transaction")
    counted = db.session.execute(
        sa.update(User).where(User.id == user_id)
        .values(login_count=User.login_count + 1, last_login_at=now)
    ).rowcount
    if counted == 0 and restarts:  # the account was deleted since we read it (DELETE /wx/me)
        db.session.rollback()
        return record_login(appid, wechat_session, restarts - 1)
    changed(user_id)
    sealed_key = seal(appid, wechat_session.openid, wechat_session.session_key)
    values = {"user_id": user_id, "appid": appid, "openid": wechat_session.openid,
              "session_key": sealed_key, "created_at": now, "last_login_at": now}
    upsert(Identity, values, ["appid", "openid"],
            lambda new: {"session_key": new.session_key, "last_login_at": new.last_login_at})
    user = load_user(user_id, appid)
    if user.disabled_at is None:
        add_attempt(appid, user, "ok")
    db.session.commit()
    if wechat_session.unionid and user.unionid is None:
        _adopt_unionid(user, wechat_session.unionid)
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
