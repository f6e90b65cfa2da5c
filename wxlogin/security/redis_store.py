"""The token store read through Redis (``REDIS_URL``): one round trip per check.

The database stays the authority: a revocation is written there as well (its primary key
decides who revoked first), and copied to Redis with the same expiry. Redis is believed only
while ``RedisTrust`` shows it complete; otherwise, or when it does not answer, checks ask
the database, and Redis is reloaded from it.
"""

import logging
import threading
import time

import sqlalchemy as sa

from ..database.redis_client import RedisError
from ..database.statements import read_once
from ..extensions import db
from ..models import RevokedToken, utcnow
from .redis_trust import MARKER, RedisTrust
from .token_store import DatabaseTokenStore, TokenStore, jti_key, sid_key
from .user_cache import SNAPSHOT_QUERY, UserCache, snapshot_of, version_key

log = logging.getLogger(__name__)

LOAD_BATCH = 5000  # revocations per Redis pipeline when reloading


class RedisTokenStore(TokenStore):
    """``DatabaseTokenStore`` with Redis in front of it, and the users' versions beside it."""

    PREFIX = "wxlogin:revoked:"

    def __init__(self, redis_client):
        self.redis = redis_client
        self.database = DatabaseTokenStore()
        self.user_cache = UserCache(redis_client)
        # Snapshots read while Redis was believed under another marker may be stale.
        self.trust = RedisTrust(redis_client, on_new_marker=self.user_cache.clear)
        self._loading = threading.Lock()

    def revoke(self, key, expires_at):
        """As ``DatabaseTokenStore.revoke``. Redis is given its copy first (a copy of a
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

    def check(self, claims, user_id):
        """One MGET (revocations and the user's version); the snapshot comes from this
        process's cache when the version is unchanged, else from the database. When Redis
        may not be believed or does not answer: the database store's one query."""
        found = self.lookup([jti_key(claims), sid_key(claims)], also=version_key(user_id))
        if found is None:
            return self.database.check(claims, user_id)
        revoked, version = found
        if revoked:
            return True, None
        params = {"user_id": user_id, "appid": claims["aud"]}
        cache = self.user_cache
        epoch = cache.epoch  # after the lookup (which may clear the cache), before the read
        user = cache.get(user_id, params["appid"], version) or cache.load(
            user_id, params["appid"], version, lambda: snapshot_of(read_once(SNAPSHOT_QUERY, params)), epoch
        )
        return False, user

    def tell_hosts(self, user_ids, attempts=1):
        return self.user_cache.bump(user_ids, attempts)

    def after_miss(self):
        self.trust.after_miss()

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
