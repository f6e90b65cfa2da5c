"""Nickname and avatar from older clients' encrypted user data (``wx.getUserInfo``).

The data is checked and opened with the user's stored session key (``wechat.user_data``);
what it says is applied by the profile's own rules (``validation.ProfileSchema``), so that
it cannot store what ``PATCH /wx/me`` would refuse.
"""

from .. import messages
from ..errors import ApiError
from ..extensions import db
from ..validation import NICKNAME_LENGTH, ProfileSchema
from ..wechat.user_data import open_user_data, signature_matches
from .session_keys import session_key_of

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
