"""Where revoked tokens and login sessions are remembered, shared by every process and host.

Keys are ``jti:<token id>`` (one token) and ``sid:<session id>`` (every token of one login,
the access and refresh tokens it began with and all rotated from them). Each entry lives
until the last token it covers can no longer be accepted, then goes: the database purges
expired rows now and then (and on ``flask tokens purge``); Redis expires its copies itself.
"""

import logging
import threading
import time

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..database.engine import Every
from ..extensions import db
from ..models import RevokedToken, utcnow
from .redis_trust import MARKER, RedisError, count_missed_write

log = logging.getLogger(__name__)

LOAD_BATCH = 5000  # revocations per Redis pipeline when reloading


class DatabaseRevocations:
    """Revocations in the ``revoked_tokens`` table (the default: no Redis needed)."""

    def __init__(self):
        self._purge_due = Every(600)

    def revoke(self, key, expires_at, count_miss=False):
        """Remember ``key`` until ``expires_at``; False when it was revoked already.

        Committed at once, on a connection of its own, so that it holds whatever the
        request does next; the primary key makes "first to revoke" atomic. ``count_miss``:
        Redis could not take its copy (counted in the same transaction).
        """
        try:
            with db.engine.begin() as connection:
                connection.execute(
                    sa.insert(RevokedToken).values(key=key, expires_at=expires_at)
                )
                if count_miss:
                    count_missed_write(connection)
        except IntegrityError:
            return False  # the first revocation gave Redis its copy, or counted its miss
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


class RedisRevocations:
    """The database store, read through Redis (``REDIS_URL``): one round trip per check.

    The database stays the authority: a revocation is written there first (its primary key
    decides who revoked first), then copied to Redis with the same expiry. Redis is
    believed only while ``RedisTrust`` shows it complete; otherwise, or when it does not
    answer, checks ask the database, and Redis is reloaded from it.
    """

    PREFIX = "wxlogin:revoked:"

    def __init__(self, redis_client, trust, database=None):
        self.redis = redis_client
        self.trust = trust
        self.database = database or DatabaseRevocations()
        self._loading = threading.Lock()

    def revoke(self, key, expires_at):
        """As ``DatabaseRevocations.revoke``. Redis is given its copy first (a copy of a
        revocation the database then finds made already is harmless); one Redis cannot
        take is counted as missed in the revocation's own transaction, so that every host
        asks the database about it (``redis_trust``)."""
        try:
            self.redis.set(self.PREFIX + key, 1, exat=int(expires_at.timestamp()) + 1)
            missed = False
        except RedisError as exc:
            log.error("Redis unavailable (%s): a revocation is in the database only", type(exc).__name__)
            missed = True
        first = self.database.revoke(key, expires_at, count_miss=missed)
        if missed:
            self.trust.after_miss()
        return first

    def lookup(self, keys, also=None):
        """``(revoked, value of the Redis key also)`` in one round trip, or None when
        Redis may not be believed or does not answer: then ask the database."""
        expected = self.trust.expected()
        if expected[0] is None:
            return None
        names = [MARKER, *(self.PREFIX + key for key in keys)]
        try:
            marker, *found = self.redis.mget(*names, *([also] if also else []))
        except RedisError as exc:
            log.warning("Redis unavailable (%s): checking revocations in the database", type(exc).__name__)
            self.trust.distrust()
            return None
        if not self.trust.believes(marker, expected):
            self.load()
            return None
        extra = found.pop() if also else None
        return any(value is not None for value in found), extra

    def load(self):
        """Copy the database's live revocations into Redis, then set the marker (on a
        connection of its own: the request's session stays free). One load at a time per
        process; a request that finds one under way asks the database."""
        if not self._loading.acquire(blocking=False):
            return
        try:
            checked_at = time.monotonic()
            marker = self.trust.current_marker()  # read before the copy: see redis_trust
            if marker is None:
                return
            if self.redis.get(MARKER) == marker.encode():  # another process just reloaded
                self.trust.settle(marker, checked_at)
                return
            with db.engine.connect() as connection:
                rows = connection.execute(
                    sa.select(RevokedToken.key, RevokedToken.expires_at).where(RevokedToken.expires_at > utcnow())
                ).all()
            for start in range(0, len(rows), LOAD_BATCH):  # bounded pipelines: Redis serves others between
                pipeline = self.redis.pipeline(transaction=False)
                for key, expires_at in rows[start:start + LOAD_BATCH]:
                    pipeline.set(self.PREFIX + key, 1, exat=int(expires_at.timestamp()) + 1)
                pipeline.execute()
            self.redis.set(MARKER, marker)  # last: only a complete copy is marked
            self.trust.settle(marker, checked_at)
            log.info("loaded %d revocations from the database into Redis", len(rows))
        except RedisError as exc:
            log.warning("Redis unavailable (%s): revocations not reloaded", type(exc).__name__)
            self.trust.distrust()
        finally:
            self._loading.release()

    def purge(self):
        return self.database.purge()  # Redis drops expired entries itself
