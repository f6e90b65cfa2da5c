"""Whether this process may believe what Redis says about revocations and users.

Redis holds a copy of what the database (the authority) decides, kept for speed, and a
copy can fall behind without a sign: a write it never got (Redis down, frozen or out of
reach of one host when a user logged out), or writes it lost (restarted from an older
snapshot, failed over to a replica that lagged). Such a Redis answers as confidently as a
complete one, so it is believed only while it is *shown* complete:

- Every write Redis missed is counted in the database (``redis_sync.missed``), in the
  transaction of the change itself, so that both are committed or neither.
- A reload (``RedisTokenStore.load``) copies the database's live revocations into Redis,
  then sets the marker ``<missed>:<run id>``: the count it read before copying, and the
  Redis server's run id, which is new at every restart and on every failover.
- Each process reads the count and the run id at most ``CHECK_EVERY`` seconds before it
  relies on them, and believes Redis only when Redis's marker matches them. Otherwise it
  asks the database, and reloads Redis.

A change whose Redis write failed is answered only ``CHECK_EVERY`` after its miss was
counted, by when every process relies on a count that includes it. A restarted or
failed-over Redis is distrusted within ``CHECK_EVERY`` of answering again.
"""

import logging
import threading
import time

import sqlalchemy as sa
from flask import g, has_request_context

from ..database.redis_client import RedisError
from ..database.statements import read_once
from ..extensions import db
from ..models import RedisSync

log = logging.getLogger(__name__)

CHECK_EVERY = 1.0  # seconds
# A believed marker is read again once it is this old, by one request while the others go
# on with it: were it read only once expired, every request in flight meanwhile would ask
# the database (a tenth of a loaded worker's time on GET /wx/me went there).
REFRESH_AFTER = CHECK_EVERY / 2
MARKER = "wxlogin:revoked-loaded"
_MISSED = sa.select(RedisSync.missed).where(RedisSync.id == 1)
_INCREMENT = sa.update(RedisSync).where(RedisSync.id == 1).values(missed=RedisSync.missed + 1)


def missed_writes():
    """How many writes Redis has missed, ever (a missing row counts as none)."""
    row = read_once(_MISSED)
    return row[0] if row is not None else 0


def count_missed_write(connection=None):
    """Add one to the count: in ``connection``'s transaction (that of the change Redis
    lacks, so that both commit or neither), or in one of its own."""
    if connection is None:
        with db.engine.begin() as connection:
            return count_missed_write(connection)
    if not connection.execute(_INCREMENT).rowcount:  # the row was deleted (tests do)
        connection.execute(sa.insert(RedisSync).values(id=1, missed=1))


class RedisTrust:
    """This process's view of the marker a complete Redis holds."""

    def __init__(self, redis_client, on_new_marker=None):
        self.redis = redis_client
        self.on_new_marker = on_new_marker  # e.g. drop snapshots read under another marker
        # (marker, checked at), replaced whole: a thread reading it while another request
        # settles a new one must never pair one's marker with the other's time.
        self._state = (None, float("-inf"))
        self._checking = threading.Lock()
        self._believed = None

    def expected(self):
        """``(marker, checked at)``: the marker a complete Redis holds, or None when unknown
        (then ask the database), and when that was read.

        Checked by one request at a time, the others never waiting for it: a believed
        marker is read again after ``REFRESH_AFTER``, and used meanwhile while it is at most
        ``CHECK_EVERY`` old; without one (Redis failed, or no marker), every
        ``CHECK_EVERY``, the others asking the database meanwhile.
        """
        state = self._state
        marker, checked_at = state
        age = time.monotonic() - checked_at
        if age <= (REFRESH_AFTER if marker is not None else CHECK_EVERY):
            return state
        if not self._checking.acquire(blocking=False):  # another request is reading it
            return state if age <= CHECK_EVERY else (None, None)
        try:
            started = time.monotonic()  # the answer is as old as the moment it was asked
            self.settle(self.current_marker(), started)
        finally:
            self._checking.release()
        return self._state

    def current_marker(self):
        """``<missed>:<run id>`` as they are now; None when Redis does not answer."""
        missed = missed_writes()
        try:
            run_id = self.redis.info("server")["run_id"]
        except RedisError as exc:
            log.warning("Redis unavailable (%s): checking revocations in the database", type(exc).__name__)
            return None
        return f"{missed}:{run_id}"

    def settle(self, marker, checked_at):
        self._state = (marker, checked_at)

    def distrust(self):
        """Redis failed this process: ask the database until the next check."""
        self.settle(None, time.monotonic())

    def believes(self, marker, expected):
        """Whether Redis may be believed on an answer carrying ``marker`` (bytes or None),
        given ``expected()``: the marker must match, and the check must still be fresh now
        that the answer is in (a slow round trip must not stretch it)."""
        expected_marker, checked_at = expected
        if marker is None or marker.decode() != expected_marker:
            return False
        if time.monotonic() - checked_at > CHECK_EVERY:
            return False
        if expected_marker != self._believed:
            self._believed = expected_marker
            if self.on_new_marker is not None:
                self.on_new_marker()
        return True

    def after_miss(self):
        """A write Redis missed was counted: wait until every process relies on a count
        that includes it (``CHECK_EVERY``) before the change is answered. In a request the
        wait is at its very end (``wait_for_hosts``), once its database connection is back
        in the pool: a pool does not run dry while Redis is away."""
        self.settle(None, float("-inf"))  # this process checks again at once
        if has_request_context():
            g.hosts_told_at = time.monotonic() + CHECK_EVERY + 0.05
        else:
            time.sleep(CHECK_EVERY + 0.05)


def wait_for_hosts(_exc=None):
    """The end of a request that counted a missed write (``after_miss``): its answer, sent
    after this, waits until every process relies on the count."""
    until = g.pop("hosts_told_at", None)
    if until is not None:
        time.sleep(max(0.0, until - time.monotonic()))
