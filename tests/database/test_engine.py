"""Which database errors mean "unavailable, retry" (503) and which are faults of ours (500)."""

import sqlite3

import psycopg
import pymysql
import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from wxlogin.database.errors import is_unavailable


def wrapped(error):
    return OperationalError("SELECT 1", {}, error)


@pytest.mark.parametrize("error", [
    psycopg.OperationalError("connection lost"),  # the client's own: no SQLSTATE
    psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
    psycopg.errors.CannotConnectNow("the database system is starting up"),
    psycopg.errors.TooManyConnections("too many clients"),
    psycopg.errors.QueryCanceled("statement timeout"),
    pymysql.err.OperationalError(2003, "Can't connect to MySQL server"),
    pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query"),
    pymysql.err.OperationalError(1040, "Too many connections"),
    sqlite3.OperationalError("database is locked"),
])
def test_unavailable(error):
    assert is_unavailable(wrapped(error))


@pytest.mark.parametrize("error", [
    pymysql.err.OperationalError(1054, "Unknown column 'x' in 'field list'"),  # a missed migration
    pymysql.err.OperationalError(4025, "CONSTRAINT failed"),
    psycopg.errors.ProgramLimitExceeded("index row size exceeds maximum"),
    sqlite3.OperationalError("no such table: users"),
])
def test_faults_of_ours_stay_500(error):
    assert not is_unavailable(wrapped(error))


def test_bare_driver_errors_count_too():
    """Some driver calls (psycopg's autocommit switch) raise the driver's error unwrapped."""
    assert is_unavailable(psycopg.OperationalError("the database did not answer"))
    assert not is_unavailable(ProgrammingError("SELECT", {}, Exception("syntax")))
    assert not is_unavailable(RuntimeError("no"))
