"""What a protected request knows about its user, and each process's cache of it.

Every request with a token must know that the user exists, is not disabled, and that the
token's generation is current; ``/wx/me`` also returns the profile: a ``UserSnapshot``,
read in one query (with the revocation check, by the database store).

With Redis, each process keeps a snapshot of the users it served, valid while the user's
*version* in Redis is unchanged. The request reads that version in the same round trip that
checks revocations (``RedisTokenStore.check``), so a change made on any host is seen by
every host at once; ``user_versions`` gives a user a new version at every committed change.
A snapshot lives at most ``MAX_AGE`` even when its version is unchanged: a change made
behind the service's back (SQL typed by hand) is seen within that. Redis must not evict
keys (``maxmemory-policy noeviction``, the default).
"""

import dataclasses
import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..accounts.phone import reveal
from ..database.redis_client import RedisError
from ..models import Identity, User

log = logging.getLogger(__name__)

PREFIX = "wxlogin:user-version:"
MAX_AGE = 300  # seconds a snapshot may live even when its version is unchanged
VERSION_TTL = 7 * 24 * 3600  # an idle user's version key goes; a missing one is re-made


@dataclass(frozen=True, slots=True)
class UserSnapshot:
    """A user as one mini program knows them; immutable, so threads can share it."""

    id: int
    appid: str
    openid: str
    unionid: str | None
    nickname: str | None
    avatar_url: str | None
    phone_number: str | None  # in clear (stored sealed)
    created_at: datetime
    last_login_at: datetime
    disabled: bool
    token_generation: int


SNAPSHOT_COLUMNS = (
    User.id, Identity.appid, Identity.openid, User.unionid, User.nickname, User.avatar_url,
    User.phone_sealed, User.created_at, User.last_login_at,
    User.disabled_at.is_not(None).label("disabled"), User.token_generation,
)


# Built once: a statement with bound parameters is compiled once and cached.
SNAPSHOT_QUERY = (
    sa.select(*SNAPSHOT_COLUMNS)
    .join(Identity, Identity.user_id == User.id)
    .where(User.id == sa.bindparam("user_id"), Identity.appid == sa.bindparam("appid"))
)


def snapshot_of(row):
    if row is None:
        return None
    snapshot = UserSnapshot(*row)
    if snapshot.phone_number is None:
        return snapshot
    return dataclasses.replace(snapshot, phone_number=reveal(snapshot.id, snapshot.phone_number))


def version_key(user_id):
    return f"{PREFIX}{user_id}"


def new_version():
    return str(random.getrandbits(62))


class UserCache:
    """Snapshots by ``(user id, appid)``, each stored with the version it was read under."""

    def __init__(self, redis_client, size=10_000):
        self.redis = redis_client
        self.size = size
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
