"""The gunicorn master's log configuration loads without the app (``wxlogin.ops.logs``)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("worker_class", ["gevent", "gthread"])
def test_the_gunicorn_master_imports_no_app(worker_class):
    """gunicorn.conf.py and its log configuration, as the master loads them: neither Flask
    nor any of the app's modules come with them (with gevent, the worker class does)."""
    script = (
        "import logging.config, runpy, sys\n"
        "settings = runpy.run_path('gunicorn.conf.py')\n"
        "logging.config.dictConfig(settings['logconfig_dict'])\n"
        "loaded = sorted(m for m in sys.modules if m == 'flask' or m.startswith(('flask.', 'wxlogin')))\n"
        "print(' '.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "GUNICORN_WORKER_CLASS": worker_class},
    )
    assert result.returncode == 0, result.stderr
    expected = {"wxlogin", "wxlogin.ops", "wxlogin.ops.logs", "wxlogin.security", "wxlogin.security.redaction"}
    if worker_class == "gevent":
        expected.add("wxlogin.ops.gunicorn_worker")
    assert set(result.stdout.split()) == expected
