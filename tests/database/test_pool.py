"""The connection pool (``database.pool``, ``deadline``): a fixed set of connections that a
burst of requests queues for, within each request's budget; a connection pinged only after
idling; a dead one replaced. PostgreSQL and MariaDB only: SQLite has no server to lose."""

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from wxlogin.database import deadline, pool
from wxlogin.extensions import db

SLEEP = {"postgresql": "SELECT pg_sleep(:s)", "mysql": "SELECT SLEEP(:s)"}
BACKEND = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}
KILL = {"postgresql": "SELECT pg_terminate_backend({})", "mysql": "KILL {}"}


@pytest.fixture
def dialect(database_url):
    name = sa.make_url(database_url).get_backend_name()
    if name == "sqlite":
        pytest.skip("a server database's pool (TEST_DATABASE_URL)")
    return name


@contextlib.contextmanager
def budget(seconds):
    """What a request has: ``seconds`` of waiting for the database."""
    deadline.begin_request(seconds)
    try:
        yield
    finally:
        deadline.end_request()


def count_connects(app):
    opened = []
    with app.app_context():
        sa.event.listen(db.engine, "connect", lambda *_: opened.append(1))
    return opened


def test_a_burst_queues_for_the_pool_instead_of_opening_connections(dialect, make_app, auth):
    """16 requests at once on a pool of 2: every one answered, and only 2 connections ever
    opened (SQLAlchemy's default overflow opened and closed one per request past the pool)."""
    headers = auth()
    app = make_app(DATABASE_POOL_SIZE=2, REDIS_URL=None)
    opened = count_connects(app)

    def notes(_):
        return app.test_client().get("/wx/notes", headers=headers).status_code

    with ThreadPoolExecutor(16) as threads:
        statuses = list(threads.map(notes, range(64)))
    assert statuses == [200] * 64
    assert len(opened) == 2


def test_waiting_for_the_pool_takes_only_what_the_budget_has_left(dialect, make_app):
    """Pins ``BudgetedPool._timeout`` (read by QueuePool's wait): a request that spent 1.5 s
    of its 2 s on a statement waits ~0.5 s for a connection, not pool_timeout's 2 s."""
    app = make_app(DATABASE_POOL_SIZE=1, DATABASE_TIMEOUT=2)
    with app.app_context(), budget(2):
        with db.engine.connect() as held:  # the only connection, held by this request
            held.execute(sa.text(SLEEP[dialect]), {"s": 1.5})
            started = time.monotonic()
            with pytest.raises(sa.exc.TimeoutError):
                db.engine.connect()
            waited = time.monotonic() - started
    assert waited < 1.2, f"waited {waited:.2f}s for a connection"


def test_each_statement_waits_only_what_the_budget_has_left(dialect, make_app):
    """Pins the drivers' waits (psycopg's ``Connection.wait``, PyMySQL's ``_read_packet``):
    after 1.5 s of a 2 s budget, a slow statement gives up after ~0.5 s, as a disconnect."""
    app = make_app(DATABASE_TIMEOUT=2)
    with app.app_context(), budget(2):
        with db.engine.connect() as connection:
            connection.execute(sa.text(SLEEP[dialect]), {"s": 1.5})
            started = time.monotonic()
            with pytest.raises(sa.exc.OperationalError) as raised:
                connection.execute(sa.text(SLEEP[dialect]), {"s": 5})
            waited = time.monotonic() - started
    assert raised.value.connection_invalidated
    assert waited < 1.2, f"waited {waited:.2f}s for the statement"


def _backend_of_next_checkout(app, dialect):
    with app.app_context(), db.engine.connect() as connection:
        return connection.execute(sa.text(BACKEND[dialect])).scalar()


def _kill(app, dialect, backend):
    """End a server session from outside the pool under test, as a restart would."""
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)
    with engine.connect() as killer:
        killer.execute(sa.text(KILL[dialect].format(int(backend))))
        killer.commit()
    engine.dispose()
    time.sleep(0.2)  # the server closes the session


def test_a_connection_that_idled_is_pinged_and_replaced_when_dead(dialect, make_app, monkeypatch):
    """A database restart while the pool idles costs no request: the idle check finds the
    dead connection, and the pool drops every connection as old and hands out a new one."""
    app = make_app(DATABASE_POOL_SIZE=2)
    with app.app_context(), db.engine.connect() as one, db.engine.connect() as two:
        backends = {c.execute(sa.text(BACKEND[dialect])).scalar() for c in (one, two)}
    _kill(app, dialect, _backend_of_next_checkout(app, dialect))  # the one handed out next (LIFO)
    monkeypatch.setattr(pool, "PING_AFTER_IDLE", 0.0)
    with app.app_context(), db.engine.connect() as one, db.engine.connect() as two:
        now = {c.execute(sa.text(BACKEND[dialect])).scalar() for c in (one, two)}
    assert not now & backends


def test_a_connection_found_dead_in_use_is_replaced_for_the_next_request(dialect, make_app, auth):
    """Not idle long enough to be pinged: the request that meets the dead connection gets 503
    database_unavailable (never a 500), and the next request is served on a new one."""
    headers = auth()
    app = make_app(DATABASE_POOL_SIZE=1, REDIS_URL=None)
    client = app.test_client()
    assert client.get("/wx/notes", headers=headers).status_code == 200
    backend = _backend_of_next_checkout(app, dialect)
    _kill(app, dialect, backend)
    first = client.get("/wx/notes", headers=headers)
    assert (first.status_code, first.get_json()["error"]) == (503, "database_unavailable")
    assert client.get("/wx/notes", headers=headers).status_code == 200
    assert _backend_of_next_checkout(app, dialect) != backend


def test_a_pool_made_anew_in_a_request_keeps_the_configured_timeout(dialect, make_app):
    """``engine.dispose()`` in a request recreates the pool: with ``pool_timeout``, not the
    budget that request has left."""
    app = make_app(DATABASE_TIMEOUT=3)
    with app.app_context():
        with budget(3):
            with db.engine.connect() as connection:
                connection.execute(sa.text(SLEEP[dialect]), {"s": 1})
            assert db.engine.pool._timeout < 2.1  # the request's remainder
            db.engine.dispose()
        assert db.engine.pool._timeout == 3
