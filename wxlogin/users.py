"""Logging a WeChat user in, and what a user may change about themselves."""

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import mysql, postgresql, sqlite

from .database import retry_on_conflict
from .errors import ApiError
from .extensions import db
from .models import User, utcnow
from .ratelimit import check_user_limit


def wechat_client():
    return current_app.extensions["wechat"]


def cipher():
    return current_app.extensions["session_key_cipher"]


def owner_of(appid, openid):
    """What a stored session_key is bound to (AES-GCM associated data)."""
    return f"{appid}:{openid}"


def session_key_of(user):
    """The user's WeChat session_key in clear, or None when it cannot be read."""
    return cipher().decrypt(user.session_key, owner_of(user.appid, user.openid))


def login_with_code(code, appid=None):
    """Exchange a ``wx.login()`` code with WeChat; return ``(user, is_new_user)``."""
    client = wechat_client()
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
    user, is_new_user = record_login(appid, session)
    if user.disabled_at is not None:
        raise ApiError(403, "user_disabled", "This account was disabled by an operator.")
    return user, is_new_user


@retry_on_conflict
def record_login(appid, session):
    """Create or update the user of ``(appid, openid)`` in one atomic upsert.

    The insert starts ``login_count`` at 1 and every later login increments it under the
    row lock, so exactly one of any number of concurrent first logins reads back 1: that one
    is the new user.
    """
    now = utcnow()
    sealed_key = cipher().encrypt(session.session_key, owner_of(appid, session.openid))
    values = {
        "appid": appid,
        "openid": session.openid,
        "unionid": session.unionid,
        "session_key": sealed_key,
        "login_count": 1,
        "created_at": now,
        "last_login_at": now,
    }
    changes = {
        "session_key": sealed_key,
        "last_login_at": now,
        "login_count": User.login_count + 1,
    }
    dialect = db.session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = (postgresql if dialect == "postgresql" else sqlite).insert(User).values(values)
        changes["unionid"] = sa.func.coalesce(insert.excluded.unionid, User.unionid)
        upsert = insert.on_conflict_do_update(index_elements=["appid", "openid"], set_=changes)
        user_id, login_count = db.session.execute(upsert.returning(User.id, User.login_count)).one()
    else:  # MySQL / MariaDB: no RETURNING here, but the row stays locked by us until commit
        insert = mysql.insert(User).values(values)
        changes["unionid"] = sa.func.coalesce(insert.inserted.unionid, User.unionid)
        db.session.execute(insert.on_duplicate_key_update(changes))
        user_id, login_count = db.session.execute(
            sa.select(User.id, User.login_count).where(
                User.appid == appid, User.openid == session.openid
            )
        ).one()
    db.session.commit()
    return db.session.get(User, user_id, populate_existing=True), login_count == 1


def update_profile(user, changes):
    user.update_from(changes)
    db.session.commit()
    return user
