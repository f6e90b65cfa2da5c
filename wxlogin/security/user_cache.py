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

from ..extensions import db
from ..models import Identity, User
from .redis_trust import RedisError, count_missed_write


log = logging.getLogger(__name__)

PREFIX = "wxlogin:user-version:"
MAX_AGE = 300  # seconds a snapshot may live even when its version is unchanged
VERSION_TTL = 7 * 24 * 3600  # an idle user's version key goes; a missing one is re-made
CRITICAL_ATTEMPTS = 2  # a critical change tries Redis twice before counting it as missed


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
        self.trust = None  # whether Redis may be believed (redis_trust)
        self.epoch = 0  # moves on at every clear and bump: a snapshot read across one is not kept
        self._entries = {}
        self._lock = threading.Lock()

    def clear(self):
        self.epoch += 1
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

    def load(self, user_id, appid, version, read, epoch):
        """Read the snapshot with ``read()`` and keep it under ``version``.

        A user with no version yet gets a random one first (SET NX): a later change then
        moves it on, whichever process makes it. The version is read *before* the row, so
        a change committed in between leaves a snapshot that is refused next time. Nor is
        it kept when the cache was cleared or bumped since ``epoch`` (taken before the
        row is read): a change Redis missed leaves the version as it was.
        """
        if version is None:
            try:
                self.redis.set(version_key(user_id), new_version(), nx=True, ex=VERSION_TTL)
                version = self.redis.get(version_key(user_id))
            except RedisError:
                version = None
        snapshot = read()
        if snapshot is not None and version is not None and epoch == self.epoch:
            with self._lock:
                if len(self._entries) >= self.size:
                    self._entries.pop(next(iter(self._entries)))  # the oldest entry
                self._entries[(user_id, appid)] = (version, time.monotonic(), snapshot)
        return snapshot

    def bump(self, user_ids, attempts=1):
        """Give the users new versions; False when Redis could not take them.

        A new random value, never an increment: after Redis restarts empty (or evicts the
        key) an increment would start again at a value some process may hold a snapshot
        under.
        """
        self.epoch += 1  # snapshots being read now must not be kept (see ``load``)
        with self._lock:
            for key in [key for key in self._entries if key[0] in user_ids]:
                del self._entries[key]
        for attempt in range(attempts):
            try:
                pipeline = self.redis.pipeline(transaction=False)
                for user_id in user_ids:
                    pipeline.set(version_key(user_id), new_version(), ex=VERSION_TTL)
                pipeline.execute()
                return True
            except RedisError as exc:
                log.error("Redis unavailable (%s): users %s changed, other hosts not told", type(exc).__name__, sorted(user_ids))
                if attempt + 1 < attempts:
                    time.sleep(0.05 * (attempt + 1))
        return False


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


@sa.event.listens_for(db.session, "before_commit")
def _count_what_redis_will_miss(session):
    """Before a critical change commits, make sure Redis can take it; if not, count the miss
    in the change's own transaction, so that no host can go on believing Redis about it
    once it is committed (a count made afterwards could fail on its own)."""
    if not has_app_context():
        return
    session.flush()  # the final flush: _collect sees every change
    critical = session.info.get("critical_users")
    if not critical:
        return
    cache = _cache()
    # Without Redis here (``flask users`` without REDIS_URL) hosts that use one are not told.
    if cache is None or not cache.bump(critical, attempts=CRITICAL_ATTEMPTS):
        count_missed_write(session.connection())
        session.info["redis_missed"] = True


@sa.event.listens_for(db.session, "after_commit")
def _publish(session):
    """New versions for the changed users, now that the change is visible: snapshots read
    before the commit are refused from now on."""
    changed_users = session.info.pop("changed_users", None)
    critical = session.info.pop("critical_users", ())
    missed = session.info.pop("redis_missed", False)
    cache = _cache()
    if cache is None:
        return
    if changed_users and not missed and not cache.bump(changed_users) and critical:
        # Redis took the first bump but not this one: count it on its own (best effort).
        count_missed_write()
        missed = True
    if missed:
        cache.trust.after_miss()


@sa.event.listens_for(db.session, "after_rollback")
def _forget(session):
    for name in ("changed_users", "critical_users", "redis_missed"):
        session.info.pop(name, None)


def _cache():
    return current_app.extensions.get("user_cache") if has_app_context() else None
