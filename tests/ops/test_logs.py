"""The gunicorn master's log configuration loads without the app (``wxlogin.ops.logs``)."""

import subprocess
import sys
from pathlib import Path

import pytest

# Reads none of TEST_DATABASE_URL, TEST_REDIS_URL, TEST_JWT_ALGORITHM (tests/conftest.py).
pytestmark = pytest.mark.once

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


def test_the_request_line_fast_path_writes_what_the_library_writes():
    """``JsonLogFormatter.format`` writes a record that lists its fields (the request line)
    itself: the same JSON, key for key and in the same order, as python-json-logger's own."""
    import json
    import logging

    from wxlogin.ops.logs import JsonLogFormatter
    from wxlogin.ops.request_log import LINE_FIELDS

    record = logging.LogRecord("wxlogin.request", logging.INFO, __file__, 0, "request", None, None)
    record.__dict__.update(request_id="r-1", method="GET", route="/wx/me", status=200,
                           duration_ms=1.25, user_id=7, _json_fields=LINE_FIELDS)
    fast = JsonLogFormatter().format(record)
    del record._json_fields
    library = JsonLogFormatter().format(record)
    assert list(json.loads(fast).items()) == list(json.loads(library).items())
    assert fast == library
