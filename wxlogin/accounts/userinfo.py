"""Encrypted user data from older clients (``wx.getUserInfo``): checked, decrypted, applied.

The data is AES-128-CBC with PKCS#7 padding under the user's WeChat session key; the
optional signature is ``sha1(raw_data + session_key)``. Data that does not decrypt with
the stored key means the client's WeChat session changed since its last login: 409
``session_key_stale``, and the client logs in again.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..errors import ApiError
from ..extensions import db
from .users import session_key_of

STALE = ApiError(409, "session_key_stale", "The data does not match your WeChat session: log in again.")
HTTP_URL = re.compile(r"https?://\S{1,1016}")


def apply_user_info(user, encrypted_data, iv, raw_data=None, signature=None):
    """Check and decrypt the data, then take nickname and avatar from it."""
    identity = user.identity
    session_key = session_key_of(identity)
    if session_key is None:
        raise STALE
    # Decrypt first: data sealed under another session key is the stale-session case (the
    # client must log in again), whatever its signature says.
    info = _decrypt(_base64(encrypted_data), _base64(iv), base64.b64decode(session_key))
    if signature is not None:
        expected = hashlib.sha1((raw_data + session_key).encode()).hexdigest()
        if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
            raise ApiError(400, "invalid_signature", "The signature does not match the data.")
    watermark = info.get("watermark")
    if not isinstance(watermark, dict) or watermark.get("appid") != identity.appid:
        raise ApiError(400, "invalid_request", "The data was made for another mini program.")
    nickname, avatar = info.get("nickName"), info.get("avatarUrl")
    if isinstance(nickname, str) and nickname.strip():
        user.nickname = "".join(ch for ch in nickname if ch.isprintable())[:64] or user.nickname
    if isinstance(avatar, str) and HTTP_URL.fullmatch(avatar):
        user.avatar_url = avatar
    db.session.commit()
    return user


def _base64(value):
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "invalid_request", "encrypted_data and iv must be base64.") from None


def _decrypt(sealed, iv, key):
    if len(iv) != 16 or not sealed or len(sealed) % 16:
        raise ApiError(400, "invalid_request", "encrypted_data or iv has the wrong length.")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(sealed) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        info = json.loads(plain.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):  # bad padding, or not our JSON: another key
        raise STALE from None
    if not isinstance(info, dict):
        raise STALE
    return info
