"""Nickname and avatar from older clients' encrypted user data (``wx.getUserInfo``).

The data is checked and opened with the user's stored session key (``wechat.user_data``);
what it says is applied to the profile.
"""

import re

from .. import messages
from ..errors import ApiError
from ..extensions import db
from ..wechat.user_data import open_user_data, signature_matches
from .session_keys import session_key_of

HTTP_URL = re.compile(r"https?://\S{1,1016}")


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
    if isinstance(nickname, str) and nickname.strip():
        user.nickname = "".join(ch for ch in nickname if ch.isprintable())[:64] or user.nickname
    if isinstance(avatar, str) and HTTP_URL.fullmatch(avatar):
        user.avatar_url = avatar
    db.session.commit()
    return user
