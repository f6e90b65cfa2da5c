"""The fault suite: the service run as an operator runs it (gunicorn from gunicorn.conf.py,
production mode, a real PostgreSQL, Redis when configured), with real faults injected.

Run it (as root: the private cluster runs as the ``postgres`` OS user):

    .venv/bin/python -m pytest -m faults tests/faults                # without Redis
    FAULTS_REDIS=1 .venv/bin/python -m pytest -m faults tests/faults # with Redis

- ``FAULTS_REDIS=1``: the service gets a private Redis (``REDIS_URL``) and the Redis faults
  run; without it they are skipped and the database alone keeps revocations.
- ``FAULTS_REPORT=/path/file.jsonl``: each fault's report (requests sent, statuses, slowest
  answer, time to recover, what was lost) is appended there as one JSON line. Reports are
  always printed (visible with ``-s``) and summed up at the end of the run.
- ``FAULTS_KEEP=1``: keep the private services' folder (/tmp/wxlogin-faults-*) for a look.

The database-outage faults also run on a private MariaDB (``mariadb-install-db`` and
``mariadbd`` on a free port, data under the same /tmp folder); those cases are skipped, with
the reason, when either program or PyMySQL is missing.

Every test module carries ``pytestmark = pytest.mark.faults``. The suite is skipped (with
the reason) when ``initdb``/``postgres`` (/usr/lib/postgresql/*/bin), the ``postgres`` OS
user, or, with FAULTS_REDIS=1, ``redis-server`` are missing.

Nothing here touches the machine's PostgreSQL (5432), MariaDB (3306) or Redis (6379): every
server is a child of this process on a free port of 127.0.0.1 (tests/faults/servers.py),
frozen, thawed and stopped by its own pid, and the run fails if one outlives it.
"""

import os
import re
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from tests.processes import JWT_KEY, SECRET, production_env

from . import servers
from .gunicorn import Gunicorn, Simulator, flask
from .load import DATABASE_TIMEOUT
from .mariadb import PrivateMariaDB, missing_mariadb
from .postgres import PrivatePostgres, missing_postgres
from .redis_server import PrivateRedis, missing_redis
from .report import Report

REDIS = os.environ.get("FAULTS_REDIS", "").lower() in ("1", "true", "yes", "on")
CLIENT_TIMEOUT_SETTING = 3  # GUNICORN_CLIENT_TIMEOUT given to the service


@pytest.fixture(scope="session", autouse=True)
def _services_available():
    """Skipped where the servers cannot be had (a fresh machine); in CI that is a failure:
    a suite that silently skips proves nothing."""
    _require("fault suite needs private servers", missing_postgres() or (missing_redis() if REDIS else None))


def _require(what, reason):
    """Skip, saying ``what: reason``, when ``reason`` (something missing) is set; in CI fail."""
    if reason and os.environ.get("CI"):
        pytest.fail(f"{what}: {reason}")
    if reason:
        pytest.skip(f"{what}: {reason}")


@pytest.fixture(scope="session")
def faults_root():
    """One folder in /tmp for the private servers (the postgres user must reach it)."""
    root = Path(tempfile.mkdtemp(prefix="wxlogin-faults-"))
    os.chmod(root, 0o755)
    _ROOTS.append(root)
    yield root
    if not os.environ.get("FAULTS_KEEP"):
        shutil.rmtree(root, ignore_errors=True)


_ROOTS = []


@pytest.fixture(scope="session")
def pg(faults_root):
    """The private PostgreSQL cluster, migrated. Tests may stop, kill or freeze it: the
    ``_database_back`` fixture brings it back after each."""
    cluster = PrivatePostgres(faults_root / "pg")
    yield from _migrated(cluster, faults_root, cluster.stop)


@pytest.fixture(scope="session")
def mariadb(faults_root):
    """A private MariaDB, migrated (``flask db upgrade``), for the database-outage faults.
    Skipped when mariadb-install-db/mariadbd are missing. ``_database_back`` brings it back
    after each test, as for ``pg``."""
    _require("private MariaDB unavailable", missing_mariadb())
    server = PrivateMariaDB(faults_root / "mariadb")
    yield from _migrated(server, faults_root, server.cleanup)


def _migrated(server, faults_root, finish):
    """Start ``server``, migrate it (``flask db upgrade``), yield it; ``finish()`` after."""
    try:
        server.start()
        flask(production_env(server.url), "db", "upgrade", cwd=faults_root)
        yield server
    finally:
        finish()


@pytest.fixture(autouse=True)
def _database_back(request):
    yield
    for name in ("pg", "mariadb"):
        if name in request.fixturenames:
            server = request.getfixturevalue(name)
            server.thaw()
            if not server.running:
                server.start()


@pytest.fixture(scope="session")
def simulator(pg, faults_root):
    sim = Simulator(production_env(pg.url), faults_root / "simulator")
    yield sim
    sim.stop()


@pytest.fixture
def redis_server(tmp_path):
    """A private Redis with FAULTS_REDIS=1, else None (the service runs without Redis)."""
    if not REDIS:
        yield None
        return
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def service_env(pg, redis_url, wx_api_base, **extra):
    settings = {
        "WX_API_BASE": wx_api_base,
        "LOGIN_RATE_LIMIT": "off",
        "LOGIN_RATE_LIMIT_PER_USER": "off",
        "DATABASE_TIMEOUT": str(DATABASE_TIMEOUT),
        "GUNICORN_CLIENT_TIMEOUT": str(CLIENT_TIMEOUT_SETTING),
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "INFO",
    }
    return production_env(pg.url, redis_url, **{**settings, **extra})


@pytest.fixture
def make_service(pg, simulator, redis_server, tmp_path):
    """``make_service(workers=2, wx=None, home=None, start=True, **env)``: a gunicorn instance
    on the private database (and Redis), stopped after the test whatever happens."""
    made = []

    def make(workers=2, wx=None, home=None, start=True, name=None, redis=redis_server, **extra):
        name = name or f"gunicorn{len(made) + 1}"
        env = service_env(pg, redis.url if redis else None, wx or simulator.url, **extra)
        instance = Gunicorn(env, tmp_path / name, workers=workers, name=name)
        if home is not None:
            instance.home = Path(home)
            instance.home.mkdir(parents=True, exist_ok=True)
            instance.env["HOME"] = str(instance.home)
        made.append(instance)
        if start:
            instance.start()
        return instance

    yield make
    for instance in made:
        if instance.process is not None:
            try:
                instance.process.send_signal(signal.SIGCONT)
            except ProcessLookupError:
                pass
            instance.stop(timeout=10)
            instance.kill_group()


def cli_env(service):
    """The environment an operator runs ``flask users ...`` with: the service's own."""
    return {k: v for k, v in service.env.items()}


_FORBIDDEN = [
    (re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), "a JWT"),
    (re.compile(re.escape(JWT_KEY)), "the signing key"),
    (re.compile(re.escape(SECRET)), "the app secret"),
    (re.compile(r"c2Vzc2lvbmtleTEyMzQ1Ng"), "a session_key value"),
    (re.compile(r"""session_key["']?\s*[:=]\s*["']?(?!\[redacted)[A-Za-z0-9+/]{8,}"""), "a session_key value"),
    (re.compile(r"secret=(?!\[redacted)[^&\s\"]+"), "a secret= query"),
    (re.compile(r"Traceback \(most recent call last\)"), "a traceback"),
]


def log_problems(service):
    """Lines of the service's log that carry a secret, a token, a session key or a
    traceback (each with what it is)."""
    found = []
    for line in service.log().splitlines():
        for pattern, what in _FORBIDDEN:
            if pattern.search(line):
                found.append(f"{what}: {line[:300]}")
                break
    return found


def control_sockets(service):
    """gunicorn control socket files under the instance's HOME (there should be none)."""
    return [str(p) for p in service.home.rglob("*") if p.name.endswith(".ctl") or p.is_socket()]


def pytest_terminal_summary(terminalreporter):
    if not Report.COLLECTED:
        return
    terminalreporter.section(f"fault reports ({'with' if REDIS else 'without'} Redis)")
    for summary in Report.COLLECTED:
        lost = summary.get("lost_count")
        terminalreporter.write_line(
            f"{summary['fault']}: sent {summary['requests_sent']}, statuses {summary['statuses']}, "
            f"slowest {summary['slowest_s']}s, recovery {summary['recovery_s']}s, lost {lost}"
        )


def pytest_sessionfinish(session):
    """No private server may outlive the run: report (and then kill) any left running."""
    left = []
    for server in servers.STARTED:
        for pid in server.leftovers():
            left.append((type(server).__name__, pid))
    for root in _ROOTS:
        for pid, cmd in servers.cmdlines():
            if (f"-D {root}" in cmd or f"--datadir={root}" in cmd) and (pid, cmd) not in left:
                left.append((cmd[:80], pid))
    if left:
        for _, pid in left:
            try:
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"fault suite: servers left running (now killed): {left}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
