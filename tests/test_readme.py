"""The README's curl walkthrough, run as written against a development server."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from wxlogin import create_app

from .conftest import LiveServer

README = Path(__file__).resolve().parent.parent / "README.md"


def walkthrough():
    text = README.read_text()
    return re.search(r"<!-- walkthrough -->\n```bash\n(.*?)```", text, re.S).group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_curl_walkthrough_works(environ, tmp_path):
    environ.delenv("DATABASE_URL")
    environ.setenv("FLASK_DEBUG", "1")
    server = LiveServer(create_app(instance_path=str(tmp_path)))
    try:
        script = walkthrough().replace("BASE=http://127.0.0.1:5000", f"BASE={server.url}")
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=60
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    out = result.stdout.replace(" ", "")
    for expected in (
        '"is_new_user":true', '"error":"code_used"', '"nickname":"Alice"', '"total":1',
        '"content":"changed"', '"deleted":true', '"error":"token_missing"',
        '"error":"token_invalid"', "Retry-After:60", '"error":"rate_limited"',
        '"error":"invalid_request"', '"error":"token_revoked"', '"revoked":true',
        '"phone_number":"13800138000"', '"error":"code_used"', '"nickname":"AliceW"', '"valid":true',
    ):
        assert expected in out, expected
    assert "session_key" not in out
