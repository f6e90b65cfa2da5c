"""How a process keeps its database connections: a fixed set, reused, checked only when idle.

- **No churn.** A gevent worker runs hundreds of requests at once; with SQLAlchemy's
  default overflow, every request past ``pool_size`` opened a connection and closed it on
  return (a fork on PostgreSQL's side, each time). The pool has ``DATABASE_POOL_SIZE``
  connections and no overflow: a spike queues for a free one, within the request's
  budget (``deadline.BudgetedPool``), and the database sees a constant number of sessions.
- **No ping per checkout.** ``pool_pre_ping`` cost a round trip before every request's
  first statement. A connection is pinged only when it has sat unused for
  ``PING_AFTER_IDLE`` seconds (a database restart or an idle timeout may have closed it
  since). A connection that dies while in use is seen by its error: SQLAlchemy then
  discards every connection of the pool made before it. So after a database restart a
  process answers 503 to the requests that meet a dead connection before the first of
  them has invalidated the pool (those in flight, and at low load the next one: a
  connection used within ``PING_AFTER_IDLE`` is not pinged), then reconnects.
- **LIFO.** The most recently returned connection is handed out first: at low load the
  same few stay warm (and unpinged), and the rest age out to the idle check.
"""

import time

import sqlalchemy as sa
from sqlalchemy.exc import InvalidatePoolError

PING_AFTER_IDLE = 10.0  # seconds


def pool_options(size):
    return {"pool_size": size, "max_overflow": 0, "pool_use_lifo": True, "pool_pre_ping": False}


def ping_when_idle(engine):
    """Check a connection that idled ``PING_AFTER_IDLE`` before handing it out."""
    dialect = engine.dialect

    @sa.event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record):
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _handed_out(dbapi_connection, record, _proxy):
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if not dialect.is_disconnect(exc, dbapi_connection, None):
                raise
            # The pool retries with a new connection. A dead one among idle ones means
            # the database restarted (or closed idle sessions): the others are dead too.
            raise InvalidatePoolError() from exc
