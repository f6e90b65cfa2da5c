"""Where revoked tokens and login sessions are remembered, shared by every process and host.

Keys are ``jti:<token id>`` (one token) and ``sid:<session id>`` (every token of one login,
the access and refresh tokens it began with and all rotated from them). Each entry lives
until the last token it covers has expired, then goes: Redis expires it by itself; the
database purges expired rows now and then, and on ``flask tokens purge``.
"""

import logging
import time

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .extensions import db
from .models import RevokedToken, utcnow

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 600


class DatabaseRevocations:
    """Revocations in the ``revoked_tokens`` table (the default: no Redis needed)."""

    def __init__(self):
        self._last_purge = 0.0

    def revoke(self, key, expires_at):
        """Remember ``key`` until ``expires_at``; False when it was revoked already.

        Committed at once, on a connection of its own, so that it holds whatever the
        request does next; the primary key makes "first to revoke" atomic.
        """
        try:
            with db.engine.begin() as connection:
                connection.execute(
                    sa.insert(RevokedToken).values(key=key, expires_at=expires_at)
                )
        except IntegrityError:
            return False
        if time.monotonic() - self._last_purge > PURGE_EVERY_SECONDS:
            self.purge()
        return True

    def is_revoked(self, *keys):
        return (
            db.session.scalar(
                sa.select(RevokedToken.key).where(RevokedToken.key.in_(keys)).limit(1)
            )
            is not None
        )

    def purge(self):
        """Forget entries whose tokens have all expired; returns how many."""
        self._last_purge = time.monotonic()
        with db.engine.begin() as connection:
            count = connection.execute(
                sa.delete(RevokedToken).where(RevokedToken.expires_at < utcnow())
            ).rowcount
        if count:
            log.info("purged %d expired token revocations", count)
        return count


class RedisRevocations:
    """Revocations in Redis (``REDIS_URL``): one round trip per check, expiry built in."""

    PREFIX = "wxlogin:revoked:"

    def __init__(self, redis_client):
        self.redis = redis_client

    def revoke(self, key, expires_at):
        ttl = max(1, int((expires_at - utcnow()).total_seconds()) + 1)
        return bool(self.redis.set(self.PREFIX + key, 1, nx=True, ex=ttl))

    def is_revoked(self, *keys):
        return self.redis.exists(*(self.PREFIX + key for key in keys)) > 0

    def purge(self):
        return 0  # Redis drops expired entries itself
