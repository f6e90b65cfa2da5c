"""Statements and transactions written once for our three databases (PostgreSQL,
MySQL/MariaDB, SQLite)."""

import functools
import logging
import time

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


def upsert(model, values, keys, changes):
    """INSERT, or on a conflict over ``keys`` UPDATE with ``changes(new_row)``, on any of
    our three databases."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "mysql":
        insert = mysql.insert(model).values(values)
        statement = insert.on_duplicate_key_update(changes(insert.inserted))
    else:
        insert = (postgresql if dialect == "postgresql" else sqlite).insert(model).values(values)
        statement = insert.on_conflict_do_update(index_elements=keys, set_=changes(insert.excluded))
    db.session.execute(statement)


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
