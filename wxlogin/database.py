"""Engine settings per database, and retrying a transaction the database chose to abort."""

import functools
import logging
import sqlite3
import time

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from .extensions import db

log = logging.getLogger(__name__)

# Deadlock / serialization failure / lock wait: the database rolled the transaction back and
# it is safe to run it again.
_RETRYABLE_MYSQL = {1205, 1213}
_RETRYABLE_PG = {"40001", "40P01"}
ATTEMPTS = 5


def engine_options(url):
    """Never put bound parameters (session keys!) in error messages; survive idle drops."""
    options = {"hide_parameters": True, "pool_pre_ping": True}
    if url.startswith("mysql"):
        # As PostgreSQL does by default: each statement sees what others committed before
        # it. Under MySQL's repeatable read, a login racing another could not see the user
        # row the other had just created (its snapshot predates it).
        options["isolation_level"] = "READ COMMITTED"
    if url.startswith("sqlite"):
        # Concurrent writers wait for the lock instead of failing at once.
        options = {"hide_parameters": True, "connect_args": {"timeout": 30}}
    return options


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
