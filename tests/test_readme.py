"""The READMEs' curl walkthrough (English and Chinese), run as written against a
development server; the two READMEs give the same commands."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from wxlogin import create_app

from .conftest import LiveServer

ROOT = Path(__file__).resolve().parent.parent
READMES = ["README.md", "README.zh-CN.md"]


def walkthrough(readme):
    text = (ROOT / readme).read_text()
    return re.search(r"<!-- walkthrough -->\n```bash\n(.*?)```", text, re.S).group(1)


def commands(readme):
    """The fenced blocks of a README with comments left out: what a reader runs."""
    blocks = re.findall(r"```\w*\n(.*?)```", (ROOT / readme).read_text(), re.S)
    return [re.sub(r"(?m)(?:^|\s+)(?:#|//)(?:\s.*)?$", "", block).strip() for block in blocks]


def test_the_chinese_readme_gives_the_same_commands():
    assert commands("README.zh-CN.md") == commands("README.md")


@pytest.mark.parametrize("readme", READMES)
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_curl_walkthrough_works(environ, tmp_path, readme):
    environ.delenv("DATABASE_URL")
    environ.setenv("FLASK_DEBUG", "1")
    server = LiveServer(create_app(instance_path=str(tmp_path)))
    try:
        script = walkthrough(readme).replace("BASE=http://127.0.0.1:5000", f"BASE={server.url}")
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
