"""What a database error means: the database is unavailable (503, try again later), the
database aborted a transaction over a conflict (run it again), or something else (a fault of
the statement or of our code: 500, with its traceback)."""

import logging
import sqlite3
import sys

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# Deadlock / serialization failure / lock wait: the database rolled the transaction back and
# it is safe to run it again.
_RETRYABLE_MYSQL = {1205, 1213}
_RETRYABLE_PG = {"40001", "40P01"}


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


def is_retryable(exc):
    """Whether the database rolled the transaction back over a conflict (deadlock,
    serialization failure, lock wait), so that running it again is safe."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _RETRYABLE_PG:
        return True
    if orig.__class__.__module__.startswith("pymysql") and orig.args and orig.args[0] in _RETRYABLE_MYSQL:
        return True
    return isinstance(orig, sqlite3.OperationalError) and "locked" in str(orig)


def connection_problem(exc):
    """What the driver says stopped a connection, in one line: 'database "x" does not
    exist', 'Access denied for user ...', 'Connection refused ...' (no password in it)."""
    orig = getattr(exc, "orig", None) or exc
    if type(orig).__module__.startswith("pymysql") and len(orig.args) > 1:
        return str(orig.args[1])
    text = str(orig).rsplit(" failed: ", 1)[-1]  # psycopg: 'connection to server at ... failed: FATAL: ...'
    text = text.removeprefix("FATAL:").strip()
    return ". ".join(part.strip() for part in text.splitlines() if part.strip())
