"""Where revoked tokens and login sessions are remembered, shared by every process and host.

Keys are ``jti:<token id>`` (one token) and ``sid:<session id>`` (every token of one login,
the access and refresh tokens it began with and all rotated from them). Each entry lives
until the last token it covers can no longer be accepted, then goes: the database purges
expired rows now and then (and on ``flask tokens purge``); Redis expires its copies itself.
"""

import logging

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .database import Every
from .extensions import db
from .models import RevokedToken, utcnow

try:
    from redis.exceptions import RedisError
except ImportError:  # redis is an extra; without it nothing Redis is ever built
    RedisError = OSError

log = logging.getLogger(__name__)


class DatabaseRevocations:
    """Revocations in the ``revoked_tokens`` table (the default: no Redis needed)."""

    def __init__(self):
        self._purge_due = Every(600)

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
        if self._purge_due.due():
            self.purge()
        return True

    # ``EXISTS`` over the bound list ``keys``: a column of the token check's one query.
    REVOKED = sa.exists().where(RevokedToken.key.in_(sa.bindparam("keys", expanding=True)))

    def purge(self):
        """Forget entries whose tokens have all expired; returns how many."""
        with db.engine.begin() as connection:
            count = connection.execute(
                sa.delete(RevokedToken).where(RevokedToken.expires_at < utcnow())
            ).rowcount
        if count:
            log.info("purged %d expired token revocations", count)
        return count


class RedisUnavailable(Exception):
    """Redis could not be written: other hosts may not see a change yet (503 unless the
    caller knows better). ``first``: whether the database revocation was the first."""

    def __init__(self, first=True):
        super().__init__("Redis unavailable")
        self.first = first


class RedisRevocations:
    """The database store, read through Redis (``REDIS_URL``): one round trip per check.

    The database stays the authority: a revocation is written there first (its primary key
    decides who revoked first), then copied to Redis with the same expiry; revoking again
    copies it again, so a copy lost to a Redis failure is made good by a retry. Redis is
    loaded from the database whenever its marker key is missing: on the first check after
    Redis is switched on, emptied or restarted without persistence. If Redis does not
    answer, checks ask the database instead.
    """

    PREFIX = "wxlogin:revoked:"
    LOADED = "wxlogin:revoked-loaded"

    def __init__(self, redis_client, database=None):
        self.redis = redis_client
        self.database = database or DatabaseRevocations()

    def revoke(self, key, expires_at):
        """As ``DatabaseRevocations.revoke``; raises RedisUnavailable when the database
        holds the revocation but Redis could not be given its copy."""
        first = self.database.revoke(key, expires_at)
        try:
            self.redis.set(self.PREFIX + key, 1, exat=int(expires_at.timestamp()) + 1)
        except RedisError as exc:
            log.error("Redis unavailable (%s): a revocation is in the database only", type(exc).__name__)
            raise RedisUnavailable(first) from None
        return first

    def lookup(self, keys, also=None):
        """``(revoked, value of the Redis key also)`` in one round trip, or None when Redis
        cannot answer (down, or just reloaded): then ask the database."""
        names = [self.LOADED, *(self.PREFIX + key for key in keys)]
        try:
            loaded, *found = self.redis.mget(*names, *([also] if also else []))
            if loaded is None:
                self.load()
                return None
        except RedisError as exc:
            log.warning("Redis unavailable (%s): checking revocations in the database", type(exc).__name__)
            return None
        extra = found.pop() if also else None
        return any(value is not None for value in found), extra

    def load(self):
        """Copy the database's live revocations into Redis, then set the marker (on a
        connection of its own: the request's session stays free)."""
        with db.engine.connect() as connection:
            rows = connection.execute(
                sa.select(RevokedToken.key, RevokedToken.expires_at).where(RevokedToken.expires_at > utcnow())
            ).all()
        pipeline = self.redis.pipeline(transaction=False)
        for key, expires_at in rows:
            pipeline.set(self.PREFIX + key, 1, exat=int(expires_at.timestamp()) + 1)
        pipeline.set(self.LOADED, 1)
        pipeline.execute()
        log.info("loaded %d revocations from the database into Redis", len(rows))

    def purge(self):
        return self.database.purge()  # Redis drops expired entries itself
