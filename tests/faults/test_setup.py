"""The README's database set-up, as an administrator would type it, on the private servers:
then ``flask db upgrade`` as the new role builds the schema, and a wrong password is one
clear line. (With the fault suite: it needs servers of its own to create roles on.)"""

import re
import subprocess

import psycopg
import pytest
import sqlalchemy as sa

from tests.processes import BIN, production_env

from .conftest import REDIS
from .mariadb import PrivateMariaDB, missing_mariadb
from .servers import ROOT

# Nothing here reads FAULTS_REDIS (no service is started: production_env without REDIS_URL),
# so the pass with Redis would repeat the pass without it exactly.
pytestmark = [pytest.mark.faults,
              pytest.mark.skipif(REDIS, reason="the same with and without Redis: runs in the pass without")]

PASSWORD = "choose-a-password"


def setup_statements(marker):
    """The statements of the README's ``<!-- marker -->`` SQL block."""
    block = re.search(rf"<!-- {marker} -->\n```sql\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    return [statement.strip() for statement in block.split(";") if statement.strip()]


def upgrade(url, cwd):
    return subprocess.run([BIN / "flask", "--app", "wxlogin", "db", "upgrade"], cwd=cwd,
                          env=production_env(url), capture_output=True, text=True, timeout=120)


def tables(url):
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def check_setup(role_url, tmp_path):
    refused = upgrade(role_url.replace(PASSWORD, "wrong-password"), tmp_path)
    (line,) = [line for line in refused.stderr.splitlines() if line.strip()]
    assert refused.returncode == 1 and line.startswith("flask db: cannot connect to ") and "Access denied" in line
    assert "wrong-password" not in refused.stdout + refused.stderr
    result = upgrade(role_url, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert {"users", "identities", "notes", "revoked_tokens", "alembic_version"} <= tables(role_url)


def test_the_postgres_setup_lets_the_role_migrate(pg, tmp_path):
    with psycopg.connect(pg.dsn, autocommit=True) as admin:
        for statement in setup_statements("postgres-setup"):
            admin.execute(statement)
    try:
        # Trust authentication on the private cluster: a wrong password is not refused
        # there, so only the right one is tried (the one-line refusal: test_migrations).
        result = upgrade(f"postgresql+psycopg://wxlogin:{PASSWORD}@127.0.0.1:{pg.port}/wxlogin", tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
        assert "users" in tables(f"postgresql+psycopg://wxlogin@127.0.0.1:{pg.port}/wxlogin")
    finally:
        with psycopg.connect(pg.dsn, autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS wxlogin")
            admin.execute("DROP ROLE IF EXISTS wxlogin")


@pytest.fixture
def mariadb_with_grants(faults_root):
    """A MariaDB of this test's own: the suite's runs without grant tables (root needs no
    password there), and FLUSH PRIVILEGES turns them on for good."""
    if missing_mariadb():
        pytest.skip(missing_mariadb())
    server = PrivateMariaDB(faults_root / "mariadb-grants").start()
    try:
        server.query("FLUSH PRIVILEGES", database=None)
        yield server
    finally:
        server.cleanup()  # stops it first


def test_the_mysql_setup_lets_the_user_migrate(mariadb_with_grants, tmp_path):
    for statement in setup_statements("mysql-setup"):
        mariadb_with_grants.query(statement, database=None)
    check_setup(f"mysql+pymysql://wxlogin:{PASSWORD}@127.0.0.1:{mariadb_with_grants.port}/wxlogin", tmp_path)
