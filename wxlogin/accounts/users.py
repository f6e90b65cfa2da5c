"""Logging a WeChat user in, and what a user may change about themselves."""

import logging

import sqlalchemy as sa
from flask import current_app
from flask_jwt_extended import current_user
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from ..ops import metrics
from .audit import add_attempt, purge_old_attempts_now_and_then, record_attempt
from ..database.engine import retry_on_conflict
from ..errors import ApiError
from ..extensions import db
from ..models import Identity, User, utcnow
from ..security.ratelimit import check_user_limit
from ..security.user_cache import changed

log = logging.getLogger(__name__)


def wechat_client():
    return current_app.extensions["wechat"]


def cipher():
    return current_app.extensions["session_key_cipher"]


def owner_of(appid, openid):
    """What a stored session_key is bound to (AES-GCM associated data)."""
    return f"{appid}:{openid}"


def session_key_of(identity):
    """The WeChat session_key of this identity in clear, or None when it cannot be read."""
    return cipher().decrypt(identity.session_key, owner_of(identity.appid, identity.openid))


def login_with_code(code, appid=None):
    """Exchange a ``wx.login()`` code with WeChat; return ``(user, is_new_user)``.

    Every attempt, whatever its outcome, goes to the audit trail.
    """
    client = wechat_client()
    user = None
    try:
        if appid is not None and appid not in client.apps:
            raise ApiError(
                400,
                "invalid_request",
                "This service is not configured for that appid.",
                details={"appid": ["Unknown appid."]},
            )
        appid = appid or next(iter(client.apps))  # the first configured app is the default
        session = client.code2session(code, appid)
        check_user_limit(appid, session.openid)
        user, is_new_user = record_login(appid, session)  # recorded "ok" unless disabled
        if user.disabled_at is not None:
            raise ApiError(403, "user_disabled", "This account was disabled by an operator.")
    except ApiError as error:
        db.session.rollback()  # whatever the failed login left half done
        record_attempt(appid, user, error.slug)
        metrics.LOGINS.labels(error.slug).inc()
        raise
    metrics.LOGINS.labels("ok").inc()
    purge_old_attempts_now_and_then()
    return user, is_new_user


@retry_on_conflict
def record_login(appid, session):
    """Find or create the user of this WeChat login, in one transaction; ``(user, is_new)``.

    The identity ``(appid, openid)`` names its user when it exists. Otherwise the user is
    the one with this unionid (a login from another of our mini programs), or is created,
    by an upsert on ``account_key`` so that concurrent first logins agree on one row. The
    user's ``login_count`` is then incremented under its row lock: a user is created with
    0, so exactly one of any number of concurrent first logins reads back 1, the new user.
    """
    now = utcnow()
    user_id = db.session.scalar(
        sa.select(Identity.user_id).where(Identity.appid == appid, Identity.openid == session.openid)
    )
    if user_id is None and session.unionid:
        user_id = db.session.scalar(sa.select(User.id).where(User.unionid == session.unionid))
    if user_id is None:
        key = session.unionid or f"{appid}:{session.openid}"
        values = {"account_key": key, "unionid": session.unionid, "login_count": 0,
                  "created_at": now, "last_login_at": now, "token_generation": 0}
        _upsert(User, values, ["account_key"], lambda new: {"account_key": new.account_key})
        user_id = db.session.scalar(sa.select(User.id).where(User.account_key == key))
        if user_id is None:  # cannot happen at read committed; never go on with no user
            raise RuntimeError("the upserted user is not visible to its own transaction")
    db.session.execute(
        sa.update(User).where(User.id == user_id)
        .values(login_count=User.login_count + 1, last_login_at=now)
    )
    changed(user_id)
    sealed_key = cipher().encrypt(session.session_key, owner_of(appid, session.openid))
    values = {"user_id": user_id, "appid": appid, "openid": session.openid,
              "session_key": sealed_key, "created_at": now, "last_login_at": now}
    _upsert(Identity, values, ["appid", "openid"],
            lambda new: {"session_key": new.session_key, "last_login_at": new.last_login_at})
    user = load_user(user_id, appid)
    if user.disabled_at is None:
        add_attempt(appid, user, "ok")
    db.session.commit()
    if session.unionid and user.unionid is None:
        _adopt_unionid(user, session.unionid)
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


def _upsert(model, values, keys, changes):
    """INSERT, or on a conflict over ``keys`` UPDATE with ``changes(new_row)``, on any of
    our three databases."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "mysql":
        insert = mysql.insert(model).values(values)
        statement = insert.on_duplicate_key_update(changes(insert.inserted))
    else:
        insert = (postgresql if dialect == "postgresql" else sqlite).insert(model).values(values)
        statement = insert.on_conflict_do_update(index_elements=keys, set_=changes(insert.excluded))
    db.session.execute(statement)


def load_user(user_id, appid):
    """The user with their identity in mini program ``appid`` attached (None if unknown)."""
    row = db.session.execute(
        sa.select(User, Identity)
        .join(Identity, Identity.user_id == User.id)
        .where(User.id == user_id, Identity.appid == appid)
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        return None
    user, user.identity = row
    return user


def load_current_user():
    """The request's user as a database row, for the routes that change it (the token
    check gives them a read-only snapshot)."""
    user = load_user(current_user.id, current_user.appid)
    if user is None:
        raise ApiError(401, "token_invalid", "The token's user no longer exists: log in again.")
    return user


def update_profile(user, changes):
    user.update_from(changes)
    db.session.commit()
    return user
