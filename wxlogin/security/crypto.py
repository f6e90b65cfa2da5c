"""Secrets at rest (WeChat session keys, the apps' WeChat access tokens): AES-256-GCM under a
key ring.

The first key encrypts; every key decrypts, so a new key can be put first while rows
written under the old one stay readable (``flask session-keys reencrypt`` moves them
over). Keys come from ``SESSION_KEY_ENCRYPTION_KEYS`` (base64 of 32 random bytes each);
without it they are derived (HKDF) from the JWT signing keys. Each ciphertext is bound to
its owner (a session key to its user's ``appid:openid``), so it cannot be moved to another
row. App tokens are not moved: one the ring can no longer read is fetched again.
"""

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from ..config import ConfigError

VERSION = "v1"


class SecretCipher:
    def __init__(self, keys):
        self._keys = {_key_id(key): AESGCM(key) for key in keys}
        self.current = _key_id(keys[0])

    @classmethod
    def from_config(cls, config):
        explicit = [_decode_key(value) for value in config.get("SESSION_KEY_ENCRYPTION_KEYS") or []]
        current = [config.get("JWT_PRIVATE_KEY"), config.get("JWT_SECRET_KEY")]
        signing = [s for s in current if s] + list(config.get("JWT_PREVIOUS_SECRET_KEYS", []))
        # Keys derived from the signing keys come after the explicit ones, to decrypt only:
        # rows sealed before SESSION_KEY_ENCRYPTION_KEYS was set (as when moving from HS256
        # to ES256) stay readable, and `session-keys reencrypt` moves them over.
        return cls(explicit + [_derive(secret) for secret in signing])

    def encrypt(self, plaintext, owner):
        nonce = os.urandom(12)
        sealed = self._keys[self.current].encrypt(nonce, plaintext.encode(), owner.encode())
        return f"{VERSION}:{self.current}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored, owner):
        """The plaintext; None when it cannot be read (unknown key, tampered, other row).

        A value without our prefix was stored before encryption existed: returned as is.
        """
        if stored is None or not stored.startswith(f"{VERSION}:"):
            return stored
        _, kid, blob = stored.split(":", 2)
        aead = self._keys.get(kid)
        if aead is None:
            return None
        raw = base64.b64decode(blob)
        try:
            return aead.decrypt(raw[:12], raw[12:], owner.encode()).decode()
        except InvalidTag:
            return None

    def is_current(self, stored):
        return stored is not None and stored.startswith(f"{VERSION}:{self.current}:")


def _key_id(key):
    return hashlib.sha256(key).hexdigest()[:8]


def _decode_key(value):
    try:
        key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigError(
            "SESSION_KEY_ENCRYPTION_KEYS must hold base64 keys of 32 bytes, e.g. "
            "python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"
        )
    return key


def _derive(secret):
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"wxlogin session_key")
    return hkdf.derive(secret.encode())


def cipher():
    return current_app.extensions["cipher"]


def init_app(app):
    app.extensions["cipher"] = SecretCipher.from_config(app.config)
