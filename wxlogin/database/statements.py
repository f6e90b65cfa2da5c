"""Statements and transactions written once for our three databases (PostgreSQL,
MySQL/MariaDB, SQLite)."""

import functools
import logging
import time

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from ..extensions import db
from .errors import is_retryable

log = logging.getLogger(__name__)
ATTEMPTS = 5


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


def upsert(model, values, keys, update, returning=False):
    """INSERT the row ``values``, or on a conflict over ``keys`` UPDATE its columns
    ``update`` with the new row's values, on any of our three databases. ``returning``
    (where the dialect has ``update_returning``, as the caller checks): the row as it now
    is, a ``model``."""
    dialect = db.session.get_bind().dialect.name
    statement = _upsert_statement(model, dialect, tuple(keys), tuple(update), returning)
    return db.session.scalar(statement, values) if returning else db.session.execute(statement, values)


@functools.cache
def _upsert_statement(model, dialect, keys, update, returning):
    """Built once per model and dialect, the row given as parameters: a statement object
    used again skips its construction (``excluded`` is a copy of every column of the table)
    and its cache key, both memoized on it: built anew, they were a fifth of a login's
    database CPU."""
    table = model.__table__
    if dialect in ("mysql", "mariadb"):
        insert = mysql.insert(table)
        statement = insert.on_duplicate_key_update({name: insert.inserted[name] for name in update})
    else:
        insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
        statement = insert.on_conflict_do_update(
            index_elements=list(keys), set_={name: insert.excluded[name] for name in update}
        )
    if not returning:
        return statement
    # SQLAlchemy's ORM upsert with RETURNING: the row read back as the model's instance.
    return (sa.select(model).from_statement(statement.returning(*table.c))
            .execution_options(populate_existing=True))


def retry_on_conflict(func):
    """Run ``func`` (one whole transaction) again when the database aborted it for a conflict."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except DBAPIError as exc:
                db.session.rollback()
                if attempt == ATTEMPTS or not is_retryable(exc):
                    raise
                log.info("%s: transaction aborted by a conflict, retrying", func.__name__)
                time.sleep(0.01 * attempt)

    return wrapper
