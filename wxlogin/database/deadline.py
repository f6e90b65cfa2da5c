"""How long a request may wait for the database: ``DATABASE_TIMEOUT`` seconds in all.

A database that is down refuses at once, but a frozen or partitioned one accepts TCP
connections (the kernel does) and then never answers: without a client-side bound every
request would hang for as long as the freeze. So each request gets a *budget*: waiting for
a pooled connection, connecting and every wait on the server's answer draw from it. When
it runs out the request fails with a disconnect error, which ``errors`` answers as 503
``database_unavailable``: a request waits for the database at most ``DATABASE_TIMEOUT`` in
all (plus the time to notice), whatever the number of statements.

Outside requests (``flask db upgrade``, operators' commands) there is no budget: a
migration may take as long as it needs.

- The pool: a request waits for a free connection at most the budget's remainder.
- PostgreSQL (psycopg 3): every wait goes through ``Connection.wait``, which takes a
  timeout; ours passes the budget's remainder. Connecting is bounded by ``connect_timeout``.
- MySQL/MariaDB (PyMySQL): every read of the server's answer waits at most the remainder
  (the socket's timeout, set per packet); connecting is bounded by ``connect_timeout``.
"""

import contextlib
import contextvars
import functools
import math
import time

from sqlalchemy.pool import QueuePool

_budget = contextvars.ContextVar("wxlogin_database_budget", default=None)
PG_MIN_CONNECT_TIMEOUT = 2  # seconds: libpq's (and psycopg's) floor


class Budget:
    """``seconds`` of waiting for the database. Only time spent waiting for it counts: a
    request that also waits for WeChat or Redis keeps its whole budget for the database."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.spent = 0.0
        self._since = None
        self._depth = 0  # waits nest: a checkout may connect, then ping

    @contextlib.contextmanager
    def waiting(self):
        if self._depth == 0:
            self._since = time.monotonic()
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self.spent += time.monotonic() - self._since

    def remaining(self):
        current = time.monotonic() - self._since if self._depth else 0.0
        return self.seconds - self.spent - current


def begin_request(seconds):
    """Give the current request (greenlet, thread) a fresh budget."""
    _budget.set(Budget(seconds) if seconds else None)


def end_request():
    _budget.set(None)


def remaining():
    """Seconds the current request may still wait; None outside a request."""
    budget = _budget.get()
    return budget.remaining() if budget is not None else None


def _waiting():
    budget = _budget.get()
    return budget.waiting() if budget is not None else contextlib.nullcontext()


class BudgetedPool(QueuePool):
    """Waiting for a free connection counts, and lasts at most what the request has left
    (and at most ``pool_timeout``): a request that spent its budget on statements does not
    then wait a whole ``pool_timeout`` more for a connection."""

    def connect(self):
        with _waiting():
            return super().connect()

    # QueuePool waits ``self._timeout`` for a connection to come back; read per checkout,
    # in the waiting request's context (tests/database/test_pool.py pins this).
    @property
    def _timeout(self):
        left = remaining()
        return self._pool_timeout if left is None else max(0.0, min(left, self._pool_timeout))

    @_timeout.setter
    def _timeout(self, seconds):
        self._pool_timeout = seconds

    def recreate(self):
        """A new pool (``engine.dispose()``) with the configured ``pool_timeout``, not what
        the request disposing of it has left (``recreate`` reads ``self._timeout``)."""
        outside = _budget.set(None)
        try:
            return super().recreate()
        finally:
            _budget.reset(outside)


# What the driver's OperationalError says when the request's budget runs out.
TIMEOUT_MESSAGE = "the database did not answer within DATABASE_TIMEOUT"


@functools.cache
def postgres_connection_class():
    """psycopg's Connection, bounding every wait on the server by the request's budget."""
    import psycopg

    class BudgetedConnection(psycopg.Connection):
        def wait(self, gen, interval=0.1, timeout=None):
            left = remaining()
            if left is None or timeout is not None:
                return super().wait(gen, interval, timeout)
            try:
                with _waiting():
                    # A spent budget still lets through what needs no answer from the
                    # server (psycopg waits on some local steps too, e.g. autocommit).
                    return super().wait(gen, interval, max(left, 0.01))
            except psycopg.OperationalError:
                if remaining() <= 0:  # our timeout, not the server's error
                    self._give_up()
                raise

        def _give_up(self):
            # The protocol is mid-exchange: the connection cannot be reused. Closed, it is
            # seen as a disconnect, so SQLAlchemy discards it (and the rest of the pool).
            self.close()
            raise psycopg.OperationalError(TIMEOUT_MESSAGE) from None

    return BudgetedConnection


@functools.cache
def mysql_connection_class():
    """PyMySQL's Connection, waiting for each packet of the server's answer at most the
    request's budget (PyMySQL's own ``read_timeout`` is fixed per connection)."""
    import pymysql

    class BudgetedMySQLConnection(pymysql.connections.Connection):
        def __init__(self, *args, read_timeout=None, write_timeout=None, **kwargs):
            # Outside requests (the web login watcher, commands): PyMySQL's own, fixed.
            self._unbudgeted = (read_timeout, write_timeout)
            super().__init__(*args, read_timeout=read_timeout, write_timeout=write_timeout, **kwargs)

        # Every read of the server's answer goes through _read_packet, and every write
        # through _write_bytes, which apply _read_timeout and _write_timeout to the socket
        # (tests/database/test_pool.py pins this). A spent budget still lets through an
        # answer already on its way (as on PostgreSQL); a timeout closes the connection,
        # seen as a disconnect. A server that stops reading holds a request no longer.
        def _read_packet(self, *args, **kwargs):
            self._read_timeout = self._budgeted(self._unbudgeted[0])
            with _waiting():
                return super()._read_packet(*args, **kwargs)

        def _write_bytes(self, data):
            self._write_timeout = self._budgeted(self._unbudgeted[1])
            with _waiting():
                return super()._write_bytes(data)

        @staticmethod
        def _budgeted(unbudgeted):
            left = remaining()
            return unbudgeted if left is None else max(left, 0.01)

    return BudgetedMySQLConnection


def connect(dialect, cparams):
    """Open a DBAPI connection for SQLAlchemy's ``do_connect`` event, within the budget."""
    budget = _budget.get()
    if dialect.name not in ("postgresql", "mysql", "mariadb") or budget is None:
        return None  # SQLite (a file: nothing to wait for but its lock), or no request
    left = budget.remaining()
    if left <= 0:
        raise dialect.loaded_dbapi.OperationalError(TIMEOUT_MESSAGE)
    if dialect.name != "postgresql":
        cparams["connect_timeout"] = max(0.5, min(cparams.get("connect_timeout", left), left))
        return mysql_connection_class()(**cparams)
    # libpq counts whole seconds, at least 2. A request that already waited and has less
    # than 1.5 s left gives up now rather than overrun by up to a second; a fresh request
    # waits at least the 2 s (so DATABASE_TIMEOUT below 1 s is not kept on PostgreSQL).
    if left < PG_MIN_CONNECT_TIMEOUT - 0.5 and left < budget.seconds - 0.5:
        raise dialect.loaded_dbapi.OperationalError(TIMEOUT_MESSAGE)
    cparams["connect_timeout"] = max(PG_MIN_CONNECT_TIMEOUT, min(int(cparams.get("connect_timeout", 2)), math.ceil(left)))
    return postgres_connection_class().connect(**cparams)
