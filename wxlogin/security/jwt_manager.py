"""flask-jwt-extended's manager, verifying each distinct token once per process.

A Mini Program sends the same access token on every call for its whole lifetime. Checking
its HMAC, parsing its JSON and validating its claims again each time is repeated work
(about a third of a protected request): a token that verified once verifies again, with
the same keys, to the same claims. Only time changes the answer, so a remembered token is
still refused once expired (past ``exp`` and the leeway). Revocation and the user's state
are not cached here: they are checked on every request (``sessions.check_token``).
"""

import threading
import time

from flask import current_app
from flask_jwt_extended import JWTManager
from flask_jwt_extended.config import config


class VerifiedTokens:
    """Tokens that verified, each with the time until which it may be used."""

    SIZE = 10_000  # distinct tokens remembered per process (about 1 KB each)

    def __init__(self):
        self.entries = {}
        self.lock = threading.Lock()

    def get(self, token):
        remembered = self.entries.get(token)
        if remembered is not None and time.time() <= remembered[1]:
            return dict(remembered[0])  # a copy: callers may add to it
        return None

    def add(self, token, claims, usable_until):
        with self.lock:
            if len(self.entries) >= self.SIZE:
                self.entries.pop(next(iter(self.entries)))  # the oldest
            self.entries[token] = (dict(claims), usable_until)


class CachingJWTManager(JWTManager):
    """Remembers verified tokens per app (apps in one process may hold different keys)."""

    def init_app(self, app, *args, **kwargs):
        super().init_app(app, *args, **kwargs)
        app.extensions["verified_tokens"] = VerifiedTokens()

    def _decode_jwt_from_config(self, encoded_token, csrf_value=None, allow_expired=False):
        verified = current_app.extensions["verified_tokens"]
        plain = not allow_expired and csrf_value is None
        claims = verified.get(encoded_token) if plain else None
        if claims is None:
            claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
            if plain and isinstance(claims.get("exp"), (int, float)):
                verified.add(encoded_token, claims, claims["exp"] + config.leeway)
        return claims
