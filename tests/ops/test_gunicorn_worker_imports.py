"""What a gunicorn worker imports with the app: not the migration tooling (Flask-Migrate,
Alembic, Mako, Pygments, ~8 MB a worker), which only ``flask db`` needs; ``flask db`` still
works (its group and ``app.extensions["migrate"]`` are stand-ins until first used)."""

import subprocess
import sys
from pathlib import Path

import pytest

from ..processes import BIN, production_env

ROOT = Path(__file__).resolve().parents[2]
MIGRATION_TOOLING = ("flask_migrate", "alembic", "mako", "pygments")


def loaded_modules(code, env):
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))\n"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return {m.split(".")[0] for m in result.stdout.split()}


def test_the_extensions_leave_the_migration_tooling_unimported():
    loaded = loaded_modules("import wxlogin.extensions", {"PATH": "/usr/bin:/bin"})
    assert "flask_sqlalchemy" in loaded  # the probe sees imports at all
    assert loaded.isdisjoint(MIGRATION_TOOLING)


def test_a_production_worker_leaves_the_migration_tooling_unimported(tmp_path):
    env = production_env(f"sqlite:///{tmp_path}/db.sqlite", HOME=str(tmp_path))
    loaded = loaded_modules("from gevent import monkey\nmonkey.patch_all()\nimport wsgi", env)
    assert "wxlogin" in loaded
    assert loaded.isdisjoint(MIGRATION_TOOLING)


def test_flask_db_runs_through_the_stand_ins(tmp_path):
    env = production_env(f"sqlite:///{tmp_path}/db.sqlite", HOME=str(tmp_path))
    flask = [BIN / "flask", "--app", "wxlogin"]
    listed = subprocess.run([*flask, "--help"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert "Perform database migrations." in listed.stdout, listed.stderr
    upgrade = subprocess.run([*flask, "db", "upgrade"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert upgrade.returncode == 0, upgrade.stderr
    current = subprocess.run([*flask, "db", "current"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert "(head)" in current.stdout, current.stderr
