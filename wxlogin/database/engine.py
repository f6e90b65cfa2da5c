"""Engine settings per database, telling an unavailable database from a failed statement,
and retrying a transaction the database chose to abort."""

import functools
import logging
import math
import sqlite3
import sys
import time

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from . import deadline
from .deadline import BudgetedPool
from ..extensions import db

log = logging.getLogger(__name__)

# Deadlock / serialization failure / lock wait: the database rolled the transaction back and
# it is safe to run it again.
_RETRYABLE_MYSQL = {1205, 1213}
_RETRYABLE_PG = {"40001", "40P01"}
ATTEMPTS = 5


def engine_options(url, timeout=None):
    """Never put bound parameters (session keys!) in error messages; survive idle drops.

    ``timeout`` (DATABASE_TIMEOUT): how long to wait for a pooled connection, to connect,
    and (MySQL) for each read or write; PostgreSQL's waits follow the request's budget
    (``deadline``). None: wait as long as it takes (migrations).
    """
    if url.startswith("sqlite"):
        # Concurrent writers wait for the lock instead of failing at once.
        return {"hide_parameters": True, "connect_args": {"timeout": 30}}
    options = {"hide_parameters": True, "pool_pre_ping": True}
    connect_args = {}
    if timeout:
        options.update(poolclass=BudgetedPool, pool_timeout=timeout)
    if url.startswith("postgresql"):
        if timeout:
            connect_args["connect_timeout"] = max(deadline.PG_MIN_CONNECT_TIMEOUT, math.ceil(timeout))
    if url.startswith("mysql"):
        # As PostgreSQL does by default: each statement sees what others committed before
        # it. Under MySQL's repeatable read, a login racing another could not see the user
        # row the other had just created (its snapshot predates it).
        options["isolation_level"] = "READ COMMITTED"
        if timeout:
            connect_args.update(connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout)
    if connect_args:
        options["connect_args"] = connect_args
    return options


def init_app(app):
    """Each request waits for the database at most DATABASE_TIMEOUT in all (``deadline``),
    and gives its connection back without turning a lost database into gunicorn's HTML 500.

    Called after Flask-SQLAlchemy's ``init_app``. Teardown functions run last-registered
    first: ours ends the session before Flask-SQLAlchemy's (left with nothing to do), and
    the budget, put first in the list, is dropped after every other teardown, so that the
    pool's rollback on return is bounded too.
    """
    seconds = app.config["DATABASE_TIMEOUT"]
    app.before_request(lambda: deadline.begin_request(seconds))
    app.teardown_appcontext(_end_session)
    app.teardown_appcontext_funcs.insert(0, lambda _exc: deadline.end_request())
    pool_logger = logging.getLogger(f"{BudgetedPool.__module__}.{BudgetedPool.__name__}")
    if not any(isinstance(f, QuietPoolResets) for f in pool_logger.filters):
        pool_logger.addFilter(QuietPoolResets())


class QuietPoolResets(logging.Filter):
    """SQLAlchemy's pool logs a traceback when a connection it takes back cannot be reset
    because the database just went away; the connection is discarded, nothing more. Such
    a record becomes one warning line (an outage would otherwise log one per connection)."""

    def filter(self, record):
        error = record.exc_info[1] if record.exc_info else None
        if record.msg == "Exception during reset or similar" and error is not None and is_unavailable(error):
            record.msg, record.args = "database unavailable (%s) while a connection was returned", (type(error).__name__,)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _end_session(_exc):
    try:
        db.session.remove()
    except SQLAlchemyError as exc:  # the database went away after the answer was made
        log.warning("database unavailable (%s) while ending the request's session", type(exc).__name__)


@sa.event.listens_for(sa.engine.Engine, "do_connect")
def _connect_within_budget(dialect, _record, _cargs, cparams):
    return deadline.connect(dialect, cparams)


def is_unavailable(exc):
    """Whether ``exc`` means the database cannot be reached now (503, retry later), rather
    than a fault of the statement or of our code (500, with its traceback): refused,
    dropped, timed out, restarting, out of connections, or a connection SQLAlchemy had to
    discard. SQLAlchemy wraps the driver's errors, but a few driver calls (e.g. switching
    autocommit) raise them bare. Drivers file schema errors and the like under
    OperationalError too, hence the lists."""
    if isinstance(exc, (DisconnectionError, PoolTimeout)) or getattr(exc, "connection_invalidated", False):
        return True
    if isinstance(exc, (OperationalError, InterfaceError)):
        exc = exc.orig
    elif not isinstance(exc, _driver_errors()):
        return False
    if isinstance(exc, sqlite3.Error):  # sqlite3 says OperationalError of "no such table" too
        return any(sign in str(exc) for sign in ("locked", "unable to open", "disk I/O"))
    sqlstate = getattr(exc, "sqlstate", None)
    if type(exc).__module__.startswith("psycopg"):
        # No SQLSTATE: the client's own (connection lost, timed out); else connection (08),
        # resources (53), operator intervention (57: shutdown, statement timeout), system
        # (58), and a serialization failure or deadlock still there after retries (40).
        return sqlstate is None or sqlstate[:2] in ("08", "53", "57", "58", "40")
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    # PyMySQL: the client's errors (2000-2999: can't connect, gone away, lost), too many
    # connections, shutdown in progress, lock wait timeout, deadlock, server killed.
    return code is None or 2000 <= code < 3000 or code in (1040, 1053, 1205, 1213, 1927, 4031)


def _driver_errors():
    """The loaded drivers' OperationalError and InterfaceError classes."""
    errors = []
    for name in ("psycopg", "pymysql"):
        driver = sys.modules.get(name)
        if driver is not None:
            errors += [driver.OperationalError, driver.InterfaceError]
    return tuple(errors)


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")  # ON DELETE CASCADE
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
        cursor.close()


class Every:
    """True at most once per ``seconds`` in this process: for upkeep done in passing
    (purging expired rows) without a scheduler. Other processes purge on their own turn;
    purges are idempotent."""

    def __init__(self, seconds):
        self.seconds = seconds
        self._last = float("-inf")

    def due(self):
        now = time.monotonic()
        if now - self._last < self.seconds:
            return False
        self._last = now
        return True


def read_once(statement, params=None):
    """The first row of one read, outside the request's transaction.

    For the checks every protected request makes. On PostgreSQL the connection is in
    autocommit mode (a client-side switch in psycopg), which saves the BEGIN and ROLLBACK
    round trips a session would send around a single SELECT.
    """
    connection = db.engine.connect()
    if connection.dialect.name == "postgresql":
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
    with connection:
        return connection.execute(statement, params).first()


def _retryable(exc):
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _RETRYABLE_PG:
        return True
    if orig.__class__.__module__.startswith("pymysql") and orig.args and orig.args[0] in _RETRYABLE_MYSQL:
        return True
    return isinstance(orig, sqlite3.OperationalError) and "locked" in str(orig)


def retry_on_conflict(func):
    """Run ``func`` (one whole transaction) again when the database aborted it for a conflict."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except DBAPIError as exc:
                db.session.rollback()
                if attempt == ATTEMPTS or not _retryable(exc):
                    raise
                log.info("%s: transaction aborted by a conflict, retrying", func.__name__)
                time.sleep(0.01 * attempt)

    return wrapper
