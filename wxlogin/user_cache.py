"""What a protected request needs to know about its user, without asking the database.

Every request with a token must know that the user exists, is not disabled, and that the
token's generation is current; ``/wx/me`` also returns the profile. With Redis, each process
keeps a snapshot of the users it served, valid while the user's *version* in Redis is
unchanged. The request reads that version in the same round trip that checks revocations
(``RedisRevocations.lookup``), so a change made on any host is seen by every host at once.

Every committed change to a user or their identities gives the user a new random version:
ORM changes are collected at flush; bulk ``UPDATE`` statements name their user with
:func:`changed`. If Redis cannot take the new version of a user whose tokens' validity
changed (disabled, every token revoked), the write is counted as missed
(``redis_trust``): every host then asks the database until Redis is reloaded, and every
snapshot read under the old marker is dropped. Other changes (a profile, a login) are
logged and may be served stale for up to ``MAX_AGE``. A critical change made without Redis
(``flask users`` run without the service's ``REDIS_URL``) is counted as missed too; one
made behind the service's back (SQL typed by hand) is not seen until the snapshot ages
out (``MAX_AGE``). Redis must not evict keys (``maxmemory-policy noeviction``, the
default).
"""

import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, has_app_context

from .extensions import db
from .models import Identity, User
from .redis_trust import RedisError, count_missed_write


log = logging.getLogger(__name__)

PREFIX = "wxlogin:user-version:"
MAX_AGE = 300  # seconds a snapshot may live even when its version is unchanged
VERSION_TTL = 7 * 24 * 3600  # an idle user's version key goes; a missing one is re-made
BUMP_ATTEMPTS = 2


@dataclass(frozen=True, slots=True)
class UserSnapshot:
    """A user as one mini program knows them; immutable, so threads can share it."""

    id: int
    appid: str
    openid: str
    unionid: str | None
    nickname: str | None
    avatar_url: str | None
    phone_number: str | None
    created_at: datetime
    last_login_at: datetime
    disabled: bool
    token_generation: int


SNAPSHOT_COLUMNS = (
    User.id, Identity.appid, Identity.openid, User.unionid, User.nickname, User.avatar_url,
    User.phone_number, User.created_at, User.last_login_at,
    User.disabled_at.is_not(None).label("disabled"), User.token_generation,
)


# Built once: a statement with bound parameters is compiled once and cached.
SNAPSHOT_QUERY = (
    sa.select(*SNAPSHOT_COLUMNS)
    .join(Identity, Identity.user_id == User.id)
    .where(User.id == sa.bindparam("user_id"), Identity.appid == sa.bindparam("appid"))
)


def snapshot_of(row):
    return UserSnapshot(*row) if row is not None else None


def version_key(user_id):
    return f"{PREFIX}{user_id}"


def new_version():
    return str(random.getrandbits(62))


class UserCache:
    """Snapshots by ``(user id, appid)``, each stored with the version it was read under."""

    def __init__(self, redis_client, size=10_000):
        self.redis = redis_client
        self.size = size
        self.trust = None  # the RedisTrust told of critical changes Redis missed
        self._entries = {}
        self._lock = threading.Lock()

    def clear(self):
        with self._lock:
            self._entries.clear()

    def get(self, user_id, appid, version):
        entry = self._entries.get((user_id, appid))
        if entry is None or version is None:
            return None
        cached_version, read_at, snapshot = entry
        if cached_version != version or time.monotonic() - read_at > MAX_AGE:
            return None
        return snapshot

    def load(self, user_id, appid, version, read):
        """Read the snapshot with ``read()`` and keep it under ``version``.

        A user with no version yet gets a random one first (SET NX): a later change then
        moves it on, whichever process makes it. The version is read *before* the row, so
        a change committed in between leaves a snapshot that is refused next time.
        """
        if version is None:
            try:
                self.redis.set(version_key(user_id), new_version(), nx=True, ex=VERSION_TTL)
                version = self.redis.get(version_key(user_id))
            except RedisError:
                version = None
        snapshot = read()
        if snapshot is not None and version is not None:
            with self._lock:
                if len(self._entries) >= self.size:
                    self._entries.pop(next(iter(self._entries)))  # the oldest entry
                self._entries[(user_id, appid)] = (version, time.monotonic(), snapshot)
        return snapshot

    def bump(self, user_ids, critical=()):
        """Give the users new versions (after their change is committed).

        A new random value, never an increment: after Redis restarts empty (or evicts the
        key) an increment would start again at a value some process may hold a snapshot
        under. When Redis cannot be written after a few tries, other hosts may serve the
        old user for up to ``MAX_AGE``: logged; and when a ``critical`` user is among them
        (disabled, or every token revoked), counted as a missed write, so that every host
        asks the database instead.
        """
        with self._lock:
            for key in [key for key in self._entries if key[0] in user_ids]:
                del self._entries[key]
        for attempt in range(BUMP_ATTEMPTS):
            try:
                pipeline = self.redis.pipeline(transaction=False)
                for user_id in user_ids:
                    pipeline.set(version_key(user_id), new_version(), ex=VERSION_TTL)
                pipeline.execute()
                return
            except RedisError as exc:
                failure = type(exc).__name__
                time.sleep(0.05 * (attempt + 1))
        if critical:
            self.trust.missed(f"a change to users {sorted(critical)} ({failure})")
        else:
            log.error("Redis unavailable (%s): users %s changed, other hosts not told", failure, sorted(user_ids))


def changed(user_id, critical=False):
    """Note that this transaction changed the user, for statements the ORM cannot see;
    ``critical``: their tokens' validity changed (every token revoked, disabled)."""
    db.session.info.setdefault("changed_users", set()).add(user_id)
    if critical:
        db.session.info.setdefault("critical_users", set()).add(user_id)


# What decides whether a user's tokens are accepted: a change to it must reach every host.
_CRITICAL = ("disabled_at", "token_generation")


@sa.event.listens_for(db.session, "after_flush")
def _collect(session, _context):
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, User) and instance.id is not None:
            state = sa.inspect(instance)
            critical = any(state.attrs[name].history.has_changes() for name in _CRITICAL)
            session.info.setdefault("changed_users", set()).add(instance.id)
            if critical:
                session.info.setdefault("critical_users", set()).add(instance.id)
        elif isinstance(instance, Identity) and instance.user_id is not None:
            session.info.setdefault("changed_users", set()).add(instance.user_id)


@sa.event.listens_for(db.session, "after_commit")
def _publish(session):
    changed_users = session.info.pop("changed_users", None)
    critical_users = session.info.pop("critical_users", ())
    cache = _cache()
    if changed_users and cache is not None:
        cache.bump(changed_users, critical_users)
    elif critical_users and has_app_context():
        # No Redis here (e.g. ``flask users`` without REDIS_URL): hosts that use one must
        # not go on believing it about these users.
        count_missed_write()


@sa.event.listens_for(db.session, "after_rollback")
def _forget(session):
    session.info.pop("changed_users", None)
    session.info.pop("critical_users", None)


def _cache():
    return current_app.extensions.get("user_cache") if has_app_context() else None
