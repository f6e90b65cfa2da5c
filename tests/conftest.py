"""Fixtures: a real WeChat simulator over HTTP, a migrated database, and the app on top.

The database is SQLite (a temporary file) unless ``TEST_DATABASE_URL`` names another, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test`` or
``mysql+pymysql://root@127.0.0.1:3306/test``. That database is wiped and migrated afresh.
``TEST_REDIS_URL`` (e.g. ``redis://127.0.0.1:6379/15``) puts revocations and rate-limit
counters in Redis; that Redis database is flushed before each test. ``TEST_JWT_ALGORITHM=ES256``
signs the run's tokens with ES256 instead of HS256.
"""

import base64
import io
import json
import os
import socket
import threading
import uuid

import pytest
import redis
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from werkzeug.serving import make_server

from wxlogin import create_app
from wxlogin.config import normalize_database_url
from wxlogin.database.engine import MIGRATIONS
from wxlogin.extensions import db
from wxlogin.security import keys
from wxlogin.wechat.simulator import Simulator, create_simulator_app

APPID = "wxtest00000000001"
SECRET = "test-secret-of-app-one"
OTHER_APPID = "wxtest00000000002"
OTHER_SECRET = "test-secret-of-app-two"
JWT_KEY = "test-signing-key-" + "k" * 32
WX_TIMEOUT = 1.0
INTROSPECTION_CLIENTS = {"orders": "orders-service-secret", "payments": "payments-service-secret"}


def free_port():
    """A port nothing listens on (for a server to start on, or to find closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """A WSGI app served on 127.0.0.1 by a werkzeug thread, for real HTTP in tests."""

    def __init__(self, wsgi_app):
        self._server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._thread.join()


@pytest.fixture(scope="session")
def simulator():
    """The standalone simulator, checking our apps' secrets like WeChat does."""
    sim = Simulator({APPID: SECRET, OTHER_APPID: OTHER_SECRET}, timeout_sleep=WX_TIMEOUT + 1)
    server = LiveServer(create_simulator_app(sim))
    sim.url = server.url
    yield sim
    server.stop()


REDIS_URL = os.environ.get("TEST_REDIS_URL") or None
# TEST_JWT_ALGORITHM=ES256: every token of the run signed with an ES256 key (JWT_PRIVATE_KEY)
# rather than HS256 with JWT_SECRET_KEY; CI runs each database once with each.
ES256 = os.environ.get("TEST_JWT_ALGORITHM", "HS256").upper() == "ES256"
PRIVATE_KEY = keys.generate()[0]  # the run's ES256 key, shared with the processes it starts


# Tests marked ``once`` read none of TEST_DATABASE_URL, TEST_REDIS_URL and TEST_JWT_ALGORITHM
# (no database_url fixture, none of the names below): CI's six combinations would run the
# same test six times. They run in the default combination (SQLite, no Redis, HS256) only;
# TEST_ONCE=all runs them in any combination.
MATRIX = bool(os.environ.get("TEST_DATABASE_URL") or REDIS_URL or ES256)
MATRIX_NAMES = ("REDIS_URL", "ES256", "PRIVATE_KEY", "signing_config", "app_config", "production_env",
                "sign_as_service")


def pytest_collection_modifyitems(config, items):
    once = [item for item in items if item.get_closest_marker("once")]
    for item in once:  # the mark must be true: a test that reads the matrix is refused
        fixtures = set(getattr(item, "fixturenames", ()))
        read = sorted(fixtures & {"database_url"} | {name for name in MATRIX_NAMES if name in vars(item.module)})
        if read:
            raise pytest.UsageError(f"{item.nodeid} is marked once but depends on {', '.join(read)}")
    if MATRIX and os.environ.get("TEST_ONCE") != "all" and once:
        config.hook.pytest_deselected(items=once)
        items[:] = [item for item in items if not item.get_closest_marker("once")]


def pytest_report_header(config):
    if MATRIX and os.environ.get("TEST_ONCE") != "all":
        return "tests marked once (independent of the database, Redis and algorithm) are deselected here"


def signing_config():
    return {"JWT_PRIVATE_KEY": PRIVATE_KEY} if ES256 else {"JWT_SECRET_KEY": JWT_KEY}


def app_config(database_url, simulator_url, **overrides):
    return {
        "TESTING": True,
        "REDIS_URL": REDIS_URL,
        "SQLALCHEMY_DATABASE_URI": database_url,
        **signing_config(),
        "WX_APPS": {APPID: SECRET, OTHER_APPID: OTHER_SECRET},
        "WX_API_BASE": simulator_url,
        "WX_TIMEOUT": WX_TIMEOUT,
        "INTROSPECTION_CLIENTS": INTROSPECTION_CLIENTS,
        **overrides,
    }


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, simulator):
    """The test database, emptied and brought to the latest migration once per run."""
    url = os.environ.get("TEST_DATABASE_URL")
    url = normalize_database_url(url) if url else f"sqlite:///{tmp_path_factory.mktemp('db')}/test.sqlite"
    app = create_app(app_config(url, simulator.url))
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(directory=str(MIGRATIONS))
    yield url
    with app.app_context():
        downgrade(directory=str(MIGRATIONS), revision="base")
        db.engine.dispose()


def empty_stores(app):
    """Delete every row, and every Redis key, a previous test left."""
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    if REDIS_URL:
        redis.Redis.from_url(REDIS_URL).flushdb()


@pytest.fixture
def app(database_url, simulator, tmp_path):
    app = create_app(app_config(database_url, simulator.url), instance_path=str(tmp_path))
    empty_stores(app)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def make_app(app, database_url, simulator, tmp_path):
    """``make_app(**overrides)``: an app like the ``app`` fixture's (which emptied the stores
    for the test), with other settings, on the same database."""
    apps = []

    def make_app(**overrides):
        made = create_app(app_config(database_url, simulator.url, **overrides), instance_path=str(tmp_path))
        apps.append(made)
        return made

    yield make_app
    for made in apps:
        with made.app_context():
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def read_qr_code(data_url):
    """What a phone reads in a web login code (a ``data:`` URL): the simulator's plain QR code
    holds JSON ``{"appid", "page", "scene", "env_version"}``."""
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    header, _, payload = data_url.partition(",")
    assert header == "data:image/png;base64"
    image = Image.open(io.BytesIO(base64.b64decode(payload))).convert("L")
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1, found
    return json.loads(found[0].text)


def fresh_code(name):
    """A code the simulator accepts once, logging in as the stable user ``name``."""
    return f"sim:{name}:{uuid.uuid4().hex}"


@pytest.fixture
def login(client):
    """Log a simulated user in; returns the login response's JSON."""

    def login(name="alice", **body):
        response = client.post("/wx/login", json={"code": fresh_code(name), **body})
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return login


@pytest.fixture
def auth(login):
    """Headers of a freshly logged-in user, as the mini program sends them."""

    def auth(name="alice"):
        return {"Authentication": login(name)["access_token"]}

    return auth


# Every variable the app reads, so that a test can start from none of them.
READ_VARIABLES = (
    "DATABASE_URL", "JWT_SECRET_KEY", "WX_APPID", "WX_SECRET", "WX_APPS", "WX_API_BASE",
    "WX_TIMEOUT", "JWT_ACCESS_TOKEN_EXPIRES", "JWT_REFRESH_TOKEN_EXPIRES", "FLASK_DEBUG",
    "REDIS_URL", "LOGIN_RATE_LIMIT", "LOGIN_RATE_LIMIT_PER_USER", "JWT_PREVIOUS_SECRET_KEYS",
    "SESSION_KEY_ENCRYPTION_KEYS", "TRUSTED_PROXY_COUNT", "AUDIT_RETENTION_DAYS",
)


@pytest.fixture
def environ(monkeypatch, tmp_path):
    """A clean environment (only a throwaway SQLite URL): each test sets what it needs."""
    for name in READ_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/app.sqlite")
    return monkeypatch
