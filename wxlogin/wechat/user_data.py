"""WeChat's encrypted user data (``wx.getUserInfo``): opened here, sealed by the simulator.

The data is AES-128-CBC with PKCS#7 padding under the user's WeChat session key, base64;
the optional signature is ``sha1(raw_data + session_key)``. Data that does not decrypt with
the stored key means the client's WeChat session changed since its last login: 409
``session_key_stale``, and the client logs in again.
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import time

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .. import messages
from ..errors import ApiError


def open_user_data(encrypted_data, iv, session_key):
    """The user data as a dict, or ApiError: not base64 or the wrong length (400), or
    sealed under another session key (409 ``session_key_stale``)."""
    sealed, iv = _base64(encrypted_data), _base64(iv)
    if len(iv) != 16 or not sealed or len(sealed) % 16:
        raise ApiError(messages.USER_DATA_WRONG_LENGTH)
    decryptor = Cipher(algorithms.AES(base64.b64decode(session_key)), modes.CBC(iv)).decryptor()
    padded = decryptor.update(sealed) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        info = json.loads(plain.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):  # bad padding, or not our JSON: another key
        raise ApiError(messages.SESSION_KEY_STALE) from None
    if not isinstance(info, dict):
        raise ApiError(messages.SESSION_KEY_STALE)
    return info


def signature_matches(raw_data, session_key, signature):
    expected = _signature(raw_data, session_key)
    return hmac.compare_digest(expected.encode(), signature.lower().encode())


def seal_user_data(session_key, appid, info):
    """What wx.getUserInfo gives a client: the user's data encrypted with the session key,
    and raw_data signed (the simulator's side of ``open_user_data``)."""
    raw_data = json.dumps(info, ensure_ascii=False)
    plain = json.dumps({**info, "watermark": {"timestamp": int(time.time()), "appid": appid}}).encode()
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    iv = os.urandom(16)
    encryptor = Cipher(algorithms.AES(base64.b64decode(session_key)), modes.CBC(iv)).encryptor()
    sealed = encryptor.update(padded) + encryptor.finalize()
    return {
        "encrypted_data": base64.b64encode(sealed).decode(),
        "iv": base64.b64encode(iv).decode(),
        "raw_data": raw_data,
        "signature": _signature(raw_data, session_key),
    }


def _signature(raw_data, session_key):
    return hashlib.sha1((raw_data + session_key).encode()).hexdigest()


def _base64(value):
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(messages.USER_DATA_NOT_BASE64) from None
