"""Each identity's WeChat ``session_key``: stored encrypted, read back, checked with WeChat.

The key decrypts what ``wx.getUserInfo`` gives the client (``profile.apply_user_info``) and signs the
session check. It never leaves the server. Its ciphertext is bound to its owner
(``appid:openid``), so that it cannot be moved to another row.
"""

import sqlalchemy as sa

from ..extensions import db
from ..models import Identity
from ..security.crypto import cipher
from ..wechat.app_token import call_with_app_token
from ..wechat.client import wechat_client


def owner_of(appid, openid):
    """What a stored session_key is bound to (AES-GCM associated data)."""
    return f"{appid}:{openid}"


def seal(appid, openid, session_key):
    return cipher().encrypt(session_key, owner_of(appid, openid))


def session_key_of(identity):
    """The WeChat session_key of this identity in clear, or None when it cannot be read."""
    return cipher().decrypt(identity.session_key, owner_of(identity.appid, identity.openid))


def wechat_session_valid(identity):
    """Whether WeChat still holds the session key stored at the identity's last login
    (``wxa/checksession``); False also when the stored key cannot be read."""
    session_key = session_key_of(identity)
    if session_key is None:
        return False
    return call_with_app_token(
        identity.appid, lambda token: wechat_client().check_session(token, identity.openid, session_key)
    )


def reencrypt_all():
    """Re-encrypt every stored session key under the newest key: ``(moved, unreadable)``."""
    moved = unreadable = 0
    for identity in db.session.scalars(sa.select(Identity).where(Identity.session_key.is_not(None))):
        if cipher().is_current(identity.session_key):
            continue
        clear = session_key_of(identity)
        if clear is None:
            unreadable += 1
            continue
        identity.session_key = seal(identity.appid, identity.openid, clear)
        moved += 1
    db.session.commit()
    return moved, unreadable
