"""The READMEs' curl walkthrough (English and Chinese), run as written against a
development server; the two READMEs give the same commands."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from wxlogin import create_app

from .conftest import LiveServer

# Reads none of TEST_DATABASE_URL, TEST_REDIS_URL, TEST_JWT_ALGORITHM (tests/conftest.py).
pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parent.parent
READMES = ["README.md", "README.zh-CN.md"]


def walkthrough(readme):
    text = (ROOT / readme).read_text()
    return re.search(r"<!-- walkthrough -->\n```bash\n(.*?)```", text, re.S).group(1)


def commands(readme):
    """The fenced blocks of a README with comments left out: what a reader runs."""
    # ```text blocks (the code map's tree) are prose: each README words them in its language.
    fenced = re.findall(r"```(\w*)\n(.*?)```", (ROOT / readme).read_text(), re.S)
    blocks = [block for language, block in fenced if language != "text"]
    return [re.sub(r"(?m)(?:^|\s+)(?:#|//)(?:\s.*)?$", "", block).strip() for block in blocks]


def test_the_chinese_readme_gives_the_same_commands():
    assert commands("README.zh-CN.md") == commands("README.md")


# What the walkthrough shows along the way, in its output.
WALKTHROUGH_SHOWS = (
    '"error":"code_used"', '"nickname":"Alice"', '"total":1',
    '"content":"changed"', '"deleted":true', '"error":"token_missing"',
    '"error":"token_invalid"', "Retry-After:60", '"error":"rate_limited"',
    '"error":"invalid_request"', '"error":"token_revoked"', '"revoked":true',
    '"phone_number":"13800138000"', '"nickname":"AliceW"', '"valid":true',
    '"status":"pending"', '"status":"scanned"', '"requester":', '"status":"confirmed"', '"status":"used"',
    # The same error for Accept-Language: zh_CN, as JSON writes it (\u escapes: Flask's default,
    # which no string, lone surrogates included, can make unencodable).
    json.dumps("未登录：请在Authentication请求头中携带accesstoken。")[1:-1],
)


def run_walkthrough(readme, base, wechat):
    """The README's walkthrough against the service at ``base``, whose WeChat (the
    simulator) answers at ``wechat``; its output, once checked."""
    script = (walkthrough(readme)
              .replace("BASE=http://127.0.0.1:5000", f"BASE={base}")
              .replace("WECHAT=$BASE/_simulator", f"WECHAT={wechat}"))
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout.replace(" ", "")
    for expected in WALKTHROUGH_SHOWS:
        assert expected in out, expected
    assert "session_key" not in out
    return result.stdout


@pytest.mark.parametrize("readme", READMES)
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_curl_walkthrough_works(environ, tmp_path, readme):
    environ.delenv("DATABASE_URL")
    environ.setenv("FLASK_DEBUG", "1")
    server = LiveServer(create_app(instance_path=str(tmp_path)))
    try:
        first = run_walkthrough(readme, server.url, f"{server.url}/_simulator")
        again = run_walkthrough(readme, server.url, f"{server.url}/_simulator")  # fresh codes
    finally:
        server.stop()
    assert '"is_new_user":true' in first.replace(" ", "")
    assert '"is_new_user":true' not in again.replace(" ", "")  # alice, back


def test_the_walkthrough_stops_at_the_first_unexpected_answer():
    """Against no service at all: the first call fails, nothing after it runs."""
    script = walkthrough("README.md").replace("BASE=http://127.0.0.1:5000", "BASE=http://127.0.0.1:9")
    result = subprocess.run(["bash", "-e", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip() == "expected HTTP 200, got 000"


# Markdown links that are not URLs: [text](target) and [text](target#anchor).
_LINK = re.compile(r"\]\((?!https?://|mailto:|#)([^)\s#]+)(?:#[^)]*)?\)")
LINKED_DOCS = [*READMES, "docs/API.md", "bench/README.md", "miniprogram/README.md", "miniprogram/README.zh-CN.md"]


@pytest.mark.parametrize("doc", [d for d in LINKED_DOCS if (ROOT / d).exists()])
def test_every_link_resolves_inside_the_repository(doc):
    path = ROOT / doc
    for target in _LINK.findall(path.read_text()):
        resolved = (path.parent / target).resolve()
        assert resolved.is_relative_to(ROOT), f"{doc} links outside the repository: {target}"
        assert resolved.exists(), f"{doc} links to a missing file: {target}"


def code_map(readme):
    text = (ROOT / readme).read_text()
    return re.search(r"^## (?:Code map|代码地图)\n(.*?)(?=^## |\Z)", text, re.S | re.M).group(1)


@pytest.mark.parametrize("readme", READMES)
def test_the_code_map_names_every_module_and_no_other(readme):
    section = code_map(readme)
    package = ROOT / "wxlogin"
    modules = {p.name for p in package.rglob("*.py") if p.name != "__init__.py"}
    named = set(re.findall(r"(?<![\w.])([a-z_]+\.py)\b", section))
    top_level = {p.name for p in ROOT.glob("*.py")}
    assert modules - named == set(), f"modules missing from {readme}'s code map"
    assert named - modules - top_level == set(), f"{readme}'s code map names files that do not exist"
    for folder in re.findall(r"^  ([a-z_]+)/", section, re.M):
        assert (package / folder / "__init__.py").exists(), folder
