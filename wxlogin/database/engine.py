"""The engine per database: its settings, SQLite's pragmas, and the request's time budget
(``deadline``) and clean teardown wired into the app."""

import logging
import math
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db, migrate
from . import deadline, pool
from .deadline import BudgetedPool
from .errors import QuietPoolResets

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def engine_options(url, timeout=None, pool_size=1):
    """Never put bound parameters (session keys!) in error messages; a fixed pool (``pool``).

    ``timeout`` (DATABASE_TIMEOUT): how long to wait for a pooled connection (of
    ``pool_size``, DATABASE_POOL_SIZE), to connect, and (MySQL) for each read or write
    outside requests; in a request, every wait follows its budget (``deadline``). None:
    wait as long as it takes (migrations).
    """
    if url.startswith("sqlite"):
        # Concurrent writers wait for the lock instead of failing at once.
        return {"hide_parameters": True, "connect_args": {"timeout": 30}}
    options = {"hide_parameters": True}
    connect_args = {}
    if timeout:  # the app's engine (migrations connect once, without a pool)
        options.update(poolclass=BudgetedPool, pool_timeout=timeout, **pool.pool_options(pool_size))
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
    """Flask-SQLAlchemy and Flask-Migrate, with engine options for the configured database.

    Each request waits for the database at most DATABASE_TIMEOUT in all (``deadline``),
    and gives its connection back without turning a lost database into gunicorn's HTML 500.

    Teardown functions run last-registered first: ours ends the session before
    Flask-SQLAlchemy's (left with nothing to do), and the budget, put first in the list, is
    dropped after every other teardown, so that the pool's rollback on return is bounded too.
    """
    seconds = app.config["DATABASE_TIMEOUT"]
    options = engine_options(app.config["SQLALCHEMY_DATABASE_URI"], seconds, app.config["DATABASE_POOL_SIZE"])
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", options)
    db.init_app(app)  # before our teardowns, so that they run before its own
    with app.app_context():
        for sa_engine in db.engines.values():
            if sa_engine.dialect.name != "sqlite":
                pool.ping_when_idle(sa_engine)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    app.before_request(lambda: deadline.begin_request(seconds))
    app.teardown_appcontext(_end_session)
    app.teardown_appcontext_funcs.insert(0, lambda _exc: deadline.end_request())
    pool_logger = logging.getLogger(f"{BudgetedPool.__module__}.{BudgetedPool.__name__}")
    if not any(isinstance(f, QuietPoolResets) for f in pool_logger.filters):
        pool_logger.addFilter(QuietPoolResets())


def _end_session(_exc):
    try:
        db.session.remove()
    except SQLAlchemyError as exc:  # the database went away after the answer was made
        log.warning("database unavailable (%s) while ending the request's session", type(exc).__name__)


@sa.event.listens_for(sa.engine.Engine, "do_connect")
def _connect_within_budget(dialect, _record, _cargs, cparams):
    return deadline.connect(dialect, cparams)


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")  # ON DELETE CASCADE
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
        cursor.close()


def upgrade_default_database(app):
    """Development convenience: bring the instance folder's SQLite file to the latest
    migration at start-up. A configured DATABASE_URL is never migrated implicitly:
    ``flask db upgrade`` is a deploy step."""
    if app.config.get("DATABASE_IS_DEFAULT") and app.debug and not app.testing:
        from flask_migrate import upgrade  # Alembic: ~8 MB a worker that never migrates

        with app.app_context():
            upgrade(directory=str(MIGRATIONS))
