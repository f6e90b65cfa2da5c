"""The user's profile: the user as a database row, and what changes it. The user changes it
(``PATCH /wx/me``), and older clients send WeChat's encrypted user data (``wx.getUserInfo``),
checked and opened with the user's stored session key (``wechat.user_data``). Both go
through the profile's own rules (``validation.ProfileSchema``), so that the user data
cannot store what ``PATCH /wx/me`` would refuse.
"""

import sqlalchemy as sa
from flask_jwt_extended import current_user

from .. import messages
from ..errors import ApiError
from ..extensions import db
from ..models import Identity, User
from ..validation import NICKNAME_LENGTH, ProfileSchema
from ..wechat.user_data import open_user_data, signature_matches
from .session_keys import session_key_of

# Built once: not made anew, nor given a new cache key, on every login and protected write.
_USER_WITH_IDENTITY = (
    sa.select(User, Identity)
    .join(Identity, Identity.user_id == User.id)
    .where(User.id == sa.bindparam("user_id"), Identity.appid == sa.bindparam("appid"))
    .execution_options(populate_existing=True)
)


def load_user(user_id, appid):
    """The user with their identity in mini program ``appid`` attached (None if unknown)."""
    row = db.session.execute(_USER_WITH_IDENTITY, {"user_id": user_id, "appid": appid}).first()
    if row is None:
        return None
    user, user.identity = row
    return user


def load_current_user():
    """The request's user as a database row, for the routes that change it (the token
    check gives them a read-only snapshot)."""
    user = load_user(current_user.id, current_user.appid)
    if user is None:
        raise ApiError(messages.TOKEN_USER_GONE)
    return user


def update_profile(user, changes):
    user.update_from(changes)
    db.session.commit()
    return user


_PROFILE = ProfileSchema()


def apply_user_info(user, encrypted_data, iv, raw_data=None, signature=None):
    """Check and decrypt the data, then take nickname and avatar from it."""
    identity = user.identity
    session_key = session_key_of(identity)
    if session_key is None:
        raise ApiError(messages.SESSION_KEY_STALE)
    # Decrypt first: data sealed under another session key is the stale-session case (the
    # client must log in again), whatever its signature says.
    info = open_user_data(encrypted_data, iv, session_key)
    if signature is not None and not signature_matches(raw_data, session_key, signature):
        raise ApiError(messages.SIGNATURE_MISMATCH)
    watermark = info.get("watermark")
    if not isinstance(watermark, dict) or watermark.get("appid") != identity.appid:
        raise ApiError(messages.USER_DATA_OTHER_APP)
    nickname, avatar = info.get("nickName"), info.get("avatarUrl")
    if isinstance(nickname, str):
        # WeChat's nicknames may carry what a typed one may not: keep what can be shown.
        nickname = "".join(ch for ch in nickname if ch.isprintable())[:NICKNAME_LENGTH]
    user.update_from({
        field: value
        for field, value in (("nickname", nickname), ("avatar_url", avatar))
        if isinstance(value, str) and value.strip() and not _PROFILE.validate({field: value})
    })
    db.session.commit()
    return user
