"""The deploy files (deploy/) are what they say: systemd accepts the unit, and its stop
timeout leaves gunicorn's graceful stop room to finish."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Reads none of TEST_DATABASE_URL, TEST_REDIS_URL, TEST_JWT_ALGORITHM (tests/conftest.py).
pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "wxlogin.service"


def unit_settings():
    return dict(re.findall(r"(?m)^(\w+)=(.*)$", UNIT.read_text()))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_accepts_the_unit(tmp_path):
    """``systemd-analyze verify``, with the unit's paths pointed at this checkout (it checks
    that they exist) and its user at one that does: not a word of complaint."""
    env_file = tmp_path / "wxlogin.env"
    env_file.write_text("")
    text = (UNIT.read_text()
            .replace("/srv/wxlogin/.venv/bin/", f"{Path(sys.executable).parent}/")
            .replace("/srv/wxlogin", str(ROOT))
            .replace("/etc/wxlogin/wxlogin.env", str(env_file))
            .replace("=wxlogin\n", "=root\n"))
    unit = tmp_path / "wxlogin.service"
    unit.write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_stop_timeout_outlasts_the_graceful_stop():
    settings = unit_settings()
    # Read, not run: gunicorn.conf.py patches the process for gevent.
    graceful = re.search(r"(?m)^graceful_timeout = (\d+)", (ROOT / "gunicorn.conf.py").read_text())
    assert int(settings["TimeoutStopSec"]) > int(graceful.group(1))
    assert settings["KillSignal"] == "SIGTERM" and settings["Restart"] == "on-failure"
    assert settings["ExecStart"].endswith("gunicorn wsgi:app")
    # nginx.conf's upstream, and nothing else: clients must not reach gunicorn past nginx.
    assert settings["Environment"] == "GUNICORN_BIND=127.0.0.1:8000"
    assert "server 127.0.0.1:8000;" in (ROOT / "deploy" / "nginx.conf").read_text()
