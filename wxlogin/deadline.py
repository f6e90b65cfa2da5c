"""How long a request may wait for the database: ``DATABASE_TIMEOUT`` seconds in all.

A database that is down refuses at once, but a frozen or partitioned one accepts TCP
connections (the kernel does) and then never answers: without a client-side bound every
request would hang for as long as the freeze. So each request gets a *budget* that starts
when it first asks the pool for a connection; the pool wait, connecting and every wait on
the server's answer draw from it. When it runs out the request fails with a disconnect
error, which ``errors`` answers as 503 ``database_unavailable``: the whole request waits at
most ``DATABASE_TIMEOUT`` (plus the time to notice) whatever the number of statements.

Outside requests (``flask db upgrade``, operators' commands) there is no budget: a
migration may take as long as it needs.

- PostgreSQL (psycopg 3): every wait goes through ``Connection.wait``, which takes a
  timeout; ours passes the budget's remainder. Connecting is bounded by ``connect_timeout``.
- MySQL/MariaDB (PyMySQL): connect, read and write timeouts on the socket.
"""

import contextvars
import functools
import math
import time

from sqlalchemy.pool import QueuePool

_budget = contextvars.ContextVar("wxlogin_database_budget", default=None)


class Budget:
    """``seconds`` of waiting for the database, counted from the first use."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.ends_at = None

    def start(self):
        if self.ends_at is None:
            self.ends_at = time.monotonic() + self.seconds

    def remaining(self):
        self.start()
        return self.ends_at - time.monotonic()


def begin_request(seconds):
    """Give the current request (greenlet, thread) a fresh budget."""
    _budget.set(Budget(seconds) if seconds else None)


def end_request():
    _budget.set(None)


def remaining():
    """Seconds the current request may still wait; None outside a request."""
    budget = _budget.get()
    return budget.remaining() if budget is not None else None


class BudgetedPool(QueuePool):
    """The request's budget starts when it first asks for a connection, so that waiting
    for a free one counts too (``pool_timeout`` bounds that wait on its own)."""

    def connect(self):
        budget = _budget.get()
        if budget is not None:
            budget.start()
        return super().connect()


class DatabaseTimeout(Exception):
    """Raised (as the driver's OperationalError) when the request's budget runs out."""

    MESSAGE = "the database did not answer within DATABASE_TIMEOUT"


@functools.cache
def postgres_connection_class():
    """psycopg's Connection, bounding every wait on the server by the request's budget."""
    import psycopg

    class BudgetedConnection(psycopg.Connection):
        def wait(self, gen, interval=0.1, timeout=None):
            left = remaining()
            if left is None or timeout is not None:
                return super().wait(gen, interval, timeout)
            if left <= 0:
                self._give_up()
            try:
                return super().wait(gen, interval, left)
            except psycopg.OperationalError:
                if remaining() <= 0:  # our timeout, not the server's error
                    self._give_up()
                raise

        def _give_up(self):
            # The protocol is mid-exchange: the connection cannot be reused. Closed, it is
            # seen as a disconnect, so SQLAlchemy discards it (and the rest of the pool).
            self.close()
            raise psycopg.OperationalError(DatabaseTimeout.MESSAGE) from None

    return BudgetedConnection


def connect(dialect, cparams):
    """Open a DBAPI connection for SQLAlchemy's ``do_connect`` event, within the budget."""
    if dialect.name not in ("postgresql", "mysql", "mariadb"):
        return None  # SQLite: a file, nothing to wait for but its lock
    left = remaining()
    if left is not None and left <= 0:
        raise dialect.loaded_dbapi.OperationalError(DatabaseTimeout.MESSAGE)
    if dialect.name == "postgresql":
        if left is not None:  # libpq counts whole seconds, at least 2
            cparams["connect_timeout"] = max(2, min(int(cparams.get("connect_timeout", 2)), math.ceil(left)))
        return postgres_connection_class().connect(**cparams)
    if left is not None:
        cparams["connect_timeout"] = max(0.5, min(cparams.get("connect_timeout", left), left))
    return None  # the dialect connects as usual
